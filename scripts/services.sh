#!/usr/bin/env bash
# Makes sure the servers the tests talk to are up: PostgreSQL and Redis on
# their usual local ports. Installs them from Debian's packages when they are
# missing and starts them when they are stopped. Idempotent; quiet when all
# is well.
set -euo pipefail

need_root() { [ "$(id -u)" = 0 ] || { echo "services.sh: $1 needs root to install or start" >&2; exit 1; }; }
apt_install() {
  need_root "$*"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null 2>&1 ||
    { apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null; }
}
wait_for() { # wait_for NAME CMD...
  local name=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "services.sh: $name did not come up" >&2; exit 1
}

# PostgreSQL on 127.0.0.1:5432, trust auth for local tests.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "services.sh: installing PostgreSQL" >&2
    apt_install postgresql
  fi
  need_root "PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1 ||
  { echo "services.sh: PostgreSQL is up but user postgres cannot log in over TCP (tests need trust or MANIWANI_TEST_POSTGRES_URL)" >&2; exit 1; }

# Redis on 127.0.0.1:6379, nothing kept on disk.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { echo "services.sh: installing Redis" >&2; apt_install redis-server; }
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

# nats-server and a Redis Cluster are started by the tests themselves
# (internal/testserver), on ports of their own: only the programs are needed.
command -v nats-server >/dev/null || { echo "services.sh: installing nats-server" >&2; apt_install nats-server; }
