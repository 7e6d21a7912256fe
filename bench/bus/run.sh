#!/usr/bin/env bash
# The bus: Redis against NATS JetStream, side by side in one run. For each,
# the services run in one process and a router in another (as apart), on
# a private redis-server or nats-server -js, with SQLite; POSTERS posters
# reply to one thread through the router for DURATION while a live client
# of the thread, through the router too, notes when each reply reaches it.
# Prints posts/s and the delivery latency (post sent -> its live event)
# p50/p99 per bus, and NATS's as a ratio of Redis's.
#
#   bash bench/bus/run.sh                      # 8 posters, 5 s each
#   POSTERS=16 DURATION=10s bash bench/bus/run.sh
#
# Needs redis-server and nats-server (scripts/services.sh installs them).
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
POSTERS=${POSTERS:-8}
DURATION=${DURATION:-5s}
. "$(dirname "$0")/../lib.sh"
bench_init bus-bench
command -v redis-server >/dev/null || die "needs redis-server"
command -v nats-server >/dev/null || die "needs nats-server"
build_maniwani
LOAD=$TMP/bus-load
(cd "$root" && go build -o "$LOAD" ./bench/bus) >"$TMP/build-load.log" 2>&1 || { tail -5 "$TMP/build-load.log"; die "go build ./bench/bus failed"; }

wait_http() { for i in $(seq 1 150); do curl -s -o /dev/null "$1/boards.json" && return 0; sleep 0.1; done; die "$1 did not answer"; }

# one NAME ENV...: the site apart on that bus, then the load; prints its line.
one() {
  local name=$1; shift
  local sp so rp ro; sp=$(port); so=$(port); rp=$(port); ro=$(port)
  mkdir -p "$TMP/$name"
  local common=(MANIWANI_TRUSTED_PROXIES=127.0.0.1/32 MANIWANI_ADMIN_PASSWORD=bench-admin-pw
    MANIWANI_INTERNAL_SECRET=bench-internal-secret-0123 MANIWANI_DATA_DIR="$TMP/$name" "$@")
  env "${common[@]}" MANIWANI_ADDR=127.0.0.1:$sp MANIWANI_OPS_ADDR=127.0.0.1:$so "$BIN" \
    -target=api,ui,markdown,thumbnailer,media,live >"$TMP/$name/svc.log" 2>&1 &
  PIDS="$! $PIDS"
  wait_http "http://127.0.0.1:$sp"
  local svc=http://127.0.0.1:$sp
  env "${common[@]}" MANIWANI_ADDR=127.0.0.1:$rp MANIWANI_OPS_ADDR=127.0.0.1:$ro MANIWANI_API_URL=$svc \
    MANIWANI_UI_URL=$svc MANIWANI_MEDIA_URL=$svc MANIWANI_LIVE_URL=$svc "$BIN" -target=router >"$TMP/$name/router.log" 2>&1 &
  PIDS="$! $PIDS"
  local R=http://127.0.0.1:$rp
  wait_http "$R"
  local out T
  out=$(curl -s -H 'Accept: application/json' -H 'X-Forwarded-For: 10.254.0.1' \
    --form-string resto=0 --form-string "com=The bus bench thread." "$R/b/post")
  T=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["thread"])' 2>/dev/null) ||
    die "$name: could not start a thread: $out"
  "$LOAD" -url "$R" -thread "$T" -posters "$POSTERS" -duration "$DURATION" || die "$name: the load failed"
}

rport=$(port)
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no >"$TMP/redis.log" 2>&1 &
PIDS="$! $PIDS"
nport=$(port); mkdir -p "$TMP/nats"
nats-server -js -a 127.0.0.1 -p "$nport" -sd "$TMP/nats" >"$TMP/nats.log" 2>&1 &
PIDS="$! $PIDS"
for i in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && (echo >/dev/tcp/127.0.0.1/$nport) 2>/dev/null && break; sleep 0.1; done

echo "bus bench: $POSTERS posters for $DURATION through a router, the services in another process, SQLite"
redis=$(one redis MANIWANI_REDIS_URL=redis://127.0.0.1:$rport/0)
nats=$(one nats MANIWANI_BUS_URL=nats://127.0.0.1:$nport)
python3 - "$redis" "$nats" <<'PY'
import sys
def parse(line):
    f = line.split(); return {f[i]: float(f[i + 1]) for i in range(0, len(f), 2)}
r, n = parse(sys.argv[1]), parse(sys.argv[2])
print(f"{'':24}{'Redis':>10}{'NATS':>10}{'NATS/Redis':>12}")
for k, label in (("posts/s", "posts/s"), ("p50_ms", "post->live p50 ms"), ("p99_ms", "post->live p99 ms")):
    print(f"{label:24}{r[k]:>10.1f}{n[k]:>10.1f}{(n[k] / r[k] if r[k] else float('nan')):>12.2f}")
for k in ("posts", "failed", "missed"):
    print(f"{k:24}{r[k]:>10.0f}{n[k]:>10.0f}")
PY
