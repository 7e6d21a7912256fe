# What the bench scripts share: a temp dir and the processes they start,
# both gone on exit; free ports; building and starting Maniwani.
#   . "$(dirname "$0")/../lib.sh"; bench_init NAME
# Everything listens on 127.0.0.1 only.

bench_init() { # NAME: how messages are signed
  BENCH_NAME=$1
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  TMP=$(mktemp -d "/tmp/maniwani-$1.XXXXXX")
  PIDS=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for i in $(seq 1 50); do
    alive=0; for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for p in $PIDS; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}

die() { echo "$BENCH_NAME: $*" >&2; exit 2; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# build_maniwani: sets BIN to MANIWANI_BIN, or to a fresh build of ./cmd/maniwani.
build_maniwani() {
  BIN=${MANIWANI_BIN:-}
  if [ -z "$BIN" ]; then
    BIN=$TMP/maniwani
    (cd "$root" && go build -o "$BIN" ./cmd/maniwani) >"$TMP/build.log" 2>&1 || { tail -5 "$TMP/build.log"; die "go build failed"; }
  fi
}

# pin_cpus: with SERVER_CPUS set (a taskset CPU list), BIN runs pinned to
# those CPUs; with LOAD_CPUS set, PIN_LOAD is the command prefix that pins a
# load program to its own. taskset runs the program in its own place (same
# pid), so the Go runtime sees the CPUs it may use from the start.
pin_cpus() {
  PIN_LOAD=()
  if [ -n "${SERVER_CPUS:-}${LOAD_CPUS:-}" ]; then
    command -v taskset >/dev/null || die "SERVER_CPUS/LOAD_CPUS need taskset"
  fi
  if [ -n "${SERVER_CPUS:-}" ]; then
    printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$SERVER_CPUS" "$BIN" >"$TMP/maniwani-pinned"
    chmod +x "$TMP/maniwani-pinned"
    BIN=$TMP/maniwani-pinned
  fi
  if [ -n "${LOAD_CPUS:-}" ]; then PIN_LOAD=(taskset -c "$LOAD_CPUS"); fi
}

# start_maniwani [ENV=VAL ...]: starts $BIN on free ports with throwaway
# data, trusting 127.0.0.1 as a proxy; sets R (its URL) and MPID; waits
# until it answers.
start_maniwani() {
  local mp op
  mp=$(port); op=$(port)
  mkdir -p "$TMP/data"
  env MANIWANI_ADDR=127.0.0.1:$mp MANIWANI_OPS_ADDR=127.0.0.1:$op MANIWANI_DATA_DIR="$TMP/data" \
    MANIWANI_TRUSTED_PROXIES=127.0.0.1/32 MANIWANI_ADMIN_PASSWORD=bench-admin-pw "$@" \
    "$BIN" >"$TMP/server.log" 2>&1 &
  MPID=$!
  PIDS="$PIDS $MPID"
  R=http://127.0.0.1:$mp
  for i in $(seq 1 150); do curl -s -o /dev/null "$R/boards.json" && break; sleep 0.1; done
  curl -s -o /dev/null "$R/boards.json" || { tail -20 "$TMP/server.log"; die "maniwani did not answer on $R"; }
}
