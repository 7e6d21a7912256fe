#!/usr/bin/env bash
# Live fan-out: CLIENTS concurrent SSE clients on one live instance, then
# POSTS replies; prints the delivery latency (201 of a post -> the last
# client has it) p50/p99 and the live process's RSS per connected client.
#
#   bash bench/live/run.sh            # 10000 clients, 100 posts
#   CLIENTS=1000 bash bench/live/run.sh
#   MANIWANI_BIN=/tmp/a LOAD_BIN=/tmp/load bash bench/live/run.sh   # prebuilt
#   SERVER_CPUS=0 LOAD_CPUS=1 bash bench/live/run.sh   # pinned apart
#
# It builds ./cmd/maniwani (or takes MANIWANI_BIN), starts it on free
# 127.0.0.1 ports with a throwaway data directory (SQLite, in-process bus),
# trusting 127.0.0.1 as a proxy so that each stream and each post can carry
# an X-Forwarded-For address of its own, opens a thread, and runs the load
# program (go run ./bench/live). The all-in-one process is the live
# instance: its RSS is what is measured. Server and load share the machine.
#
# Settings (environment): CLIENTS (10000), POSTS (100), GAP (between posts,
# 30ms), BATCH (connections opened at once, 250), TIMEOUT (of the load
# program, 150s), MANIWANI_BIN (a built maniwani), LOAD_BIN (a built
# ./bench/live: compare two servers with the same load program),
# SERVER_CPUS and LOAD_CPUS (taskset CPU lists: pin the server and the
# load program, e.g. apart; unset, both may run on every CPU, which is what
# the targets are judged on).
# Exit status: 0 when the targets are met (p99 <= 200 ms, <= 20 KB RSS per
# client, no missed delivery), 1 when not, 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
CLIENTS=${CLIENTS:-10000}
POSTS=${POSTS:-100}
GAP=${GAP:-30ms}
BATCH=${BATCH:-250}
TIMEOUT=${TIMEOUT:-150s}

. "$(dirname "$0")/../lib.sh"
bench_init live-bench
command -v curl >/dev/null || die "needs curl"
command -v python3 >/dev/null || die "needs python3"

# --- open files: each client is a socket in the load program and one in the server
want=65536
ulimit -n $want 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
have=$(ulimit -n)
if [ "$have" != unlimited ] && [ "$have" -lt $((CLIENTS + 512)) ]; then
  die "open-file limit is $have (hard $(ulimit -Hn)); $CLIENTS clients need at least $((CLIENTS + 512))"
fi
# Ephemeral ports: all clients come from 127.0.0.1 to one port.
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
[ $((hi - lo)) -gt $((CLIENTS + 1000)) ] || die "ephemeral port range $lo-$hi is too small for $CLIENTS clients"

# --- maniwani -----------------------------------------------------------------
build_maniwani
LOAD=${LOAD_BIN:-}
if [ -z "$LOAD" ]; then
  LOAD=$TMP/live-load
  (cd "$root" && go build -o "$LOAD" ./bench/live) >"$TMP/build-load.log" 2>&1 || { tail -5 "$TMP/build-load.log"; die "go build ./bench/live failed"; }
fi
pin_cpus

start_maniwani

# --- the thread -----------------------------------------------------------------
out=$(curl -s -H 'Accept: application/json' -H 'X-Forwarded-For: 10.254.0.1' \
  --form-string resto=0 --form-string "sub=Live bench" --form-string "com=The live bench thread." "$R/b/post")
T=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["thread"])' 2>/dev/null) ||
  die "could not start a thread: $out"

# --- the load ----------------------------------------------------------------------
echo "open-file limit $(ulimit -n); maniwani pid $MPID on $R; thread /b/thread/$T"
"${PIN_LOAD[@]}" "$LOAD" -url "$R" -thread "$T" -clients "$CLIENTS" -posts "$POSTS" -pid "$MPID" \
  -gap "$GAP" -batch "$BATCH" -timeout "$TIMEOUT" &
LPID=$!
PIDS="$LPID $PIDS"
wait $LPID
code=$?
PIDS=${PIDS#"$LPID "}
if grep -q '"level":"ERROR"' "$TMP/server.log"; then
  echo "server errors (last 5):"; grep '"level":"ERROR"' "$TMP/server.log" | tail -5
fi
exit $code
