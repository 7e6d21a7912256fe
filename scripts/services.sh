#!/usr/bin/env bash
# Makes sure the servers the tests talk to are up: PostgreSQL and Redis on
# their usual local ports. Installs them from Debian's packages when they are
# missing and starts them when they are stopped. Idempotent; quiet when all
# is well. Works as root (Debian, containers) or as a user with
# passwordless sudo (Ubuntu CI runners).
set -euo pipefail

# as_root runs a command as root: directly, or through sudo without a password.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else echo "services.sh: $1 needs root (or passwordless sudo)" >&2; exit 1
  fi
}
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null 2>&1 ||
    { as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null; }
}
wait_for() { # wait_for NAME CMD...
  local name=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "services.sh: $name did not come up" >&2; exit 1
}

# PostgreSQL on 127.0.0.1:5432, trust auth for local tests.
installed=0
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "services.sh: installing PostgreSQL" >&2
    apt_install postgresql
    installed=1
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
if ! psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1; then
  # A cluster this script installed, or any under CI (a throwaway machine:
  # Debian's and Ubuntu's packages ask for passwords over TCP): trust
  # loopback connections. A developer's own cluster is left as it is.
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$ver" ] && { [ "$installed" = 1 ] || [ "${CI:-}" = true ]; }; then
    echo "services.sh: letting local TCP connections to PostgreSQL $ver in without a password" >&2
    hba=/etc/postgresql/$ver/main/pg_hba.conf
    as_root sh -c "{ printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat '$hba'; } >'$hba.new' && mv '$hba.new' '$hba' && chown postgres:postgres '$hba'"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    wait_for "PostgreSQL login" psql -h 127.0.0.1 -U postgres -Atc 'select 1'
  fi
fi
psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1 ||
  { echo "services.sh: PostgreSQL is up but user postgres cannot log in over TCP (tests need trust or MANIWANI_TEST_POSTGRES_URL)" >&2; exit 1; }

# Redis on 127.0.0.1:6379, nothing kept on disk.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { echo "services.sh: installing Redis" >&2; apt_install redis-server; }
  # The package may have started its own (Ubuntu's does).
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

# nats-server and a Redis Cluster are started by the tests themselves
# (internal/testserver), on ports of their own: only the programs are needed.
command -v nats-server >/dev/null || { echo "services.sh: installing nats-server" >&2; apt_install nats-server; }
