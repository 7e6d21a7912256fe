#!/usr/bin/env bash
# Live fan-out: CLIENTS concurrent SSE clients of one thread on one live
# instance, then POSTS replies at RATE a second; prints the delivery latency
# (201 of a post -> the last client has it) p50/p99, the live process's RSS
# per connected client and its CPU time, for each coalescing window in
# WINDOWS (MANIWANI_LIVE_COALESCE), each on a fresh server, ROUNDS times
# over; then a table of them all, with each run's ratio to the first
# window's of the same round (the baseline).
#
#   bash bench/live/run.sh            # 10000 clients, 200 posts at 50/s, windows off and 5ms
#   ROUNDS=3 WINDOWS="off 2ms 5ms 10ms" bash bench/live/run.sh
#   CLIENTS=1000 RATE=0 GAP=30ms bash bench/live/run.sh   # one by one, 30 ms apart
#   MANIWANI_BIN=/tmp/a LOAD_BIN=/tmp/load bash bench/live/run.sh   # prebuilt
#   SERVER_CPUS=0 LOAD_CPUS=1 bash bench/live/run.sh   # pinned apart
#
# It builds ./cmd/maniwani (or takes MANIWANI_BIN), starts it on free
# 127.0.0.1 ports with a throwaway data directory (SQLite, in-process bus),
# trusting 127.0.0.1 as a proxy so that each stream and each post can carry
# an X-Forwarded-For address of its own, opens a thread, and runs the load
# program (go run ./bench/live). The all-in-one process is the live
# instance: its RSS and CPU are what is measured. Server and load share the
# machine.
#
# Settings (environment): CLIENTS (10000), POSTS (200), RATE (posts a
# second, sent on a schedule whatever the answers' pace; 0: one by one, GAP
# apart; 50), GAP (30ms), WINDOWS (the MANIWANI_LIVE_COALESCE values to run,
# the first is the baseline; "off 5ms"), ROUNDS (1), BATCH (connections
# opened at once, 250), TIMEOUT (of the load program, 150s), MANIWANI_BIN
# (a built maniwani), LOAD_BIN (a built ./bench/live: compare two servers
# with the same load program), SERVER_CPUS and LOAD_CPUS (taskset CPU
# lists: pin the server and the load program, e.g. apart; unset, both may
# run on every CPU, which is what the targets are judged on).
# Exit status: 0 when every run of the last window in WINDOWS met the
# targets (p99 <= 200 ms, <= 20 KB RSS per client, no missed delivery), 1
# when not, 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
CLIENTS=${CLIENTS:-10000}
POSTS=${POSTS:-200}
GAP=${GAP:-30ms}
RATE=${RATE:-50}
BATCH=${BATCH:-250}
TIMEOUT=${TIMEOUT:-150s}
WINDOWS=${WINDOWS:-off 5ms}
ROUNDS=${ROUNDS:-1}

. "$(dirname "$0")/../lib.sh"
bench_init live-bench
command -v curl >/dev/null || die "needs curl"
command -v python3 >/dev/null || die "needs python3"

# --- open files: each client is a socket in the load program and one in the
# server, each process with its own limit (which a child inherits)
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

# run_one WINDOW: a fresh server with that coalescing window, a thread, the
# load; its output goes to $TMP/run.out, its summary line to $TMP/summary.
run_one() {
  rm -rf "$TMP/data"
  start_maniwani MANIWANI_LIVE_COALESCE="$1"
  local out T code
  out=$(curl -s -H 'Accept: application/json' -H 'X-Forwarded-For: 10.254.0.1' \
    --form-string resto=0 --form-string "sub=Live bench" --form-string "com=The live bench thread." "$R/b/post")
  T=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["thread"])' 2>/dev/null) ||
    die "could not start a thread: $out"
  echo "open-file limit $(ulimit -n); maniwani pid $MPID on $R (MANIWANI_LIVE_COALESCE=$1); thread /b/thread/$T"
  "${PIN_LOAD[@]}" "$LOAD" -url "$R" -thread "$T" -clients "$CLIENTS" -posts "$POSTS" -pid "$MPID" \
    -gap "$GAP" -rate "$RATE" -batch "$BATCH" -timeout "$TIMEOUT" >"$TMP/run.out" &
  LPID=$!
  PIDS="$LPID $PIDS"
  wait $LPID
  code=$?
  PIDS=${PIDS#"$LPID "}
  cat "$TMP/run.out"
  if grep -q '"level":"ERROR"' "$TMP/server.log"; then
    echo "server errors (last 5):"; grep '"level":"ERROR"' "$TMP/server.log" | tail -5
  fi
  kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null
  PIDS=$(for p in $PIDS; do [ "$p" != "$MPID" ] && echo "$p"; done)
  grep '^summary:' "$TMP/run.out" | sed "s/^summary:/window=$1/" >>"$TMP/summary" ||
    echo "window=$1 result=FAIL(no summary)" >>"$TMP/summary"
  return $code
}

rc=0
last=${WINDOWS##* }
for round in $(seq 1 "$ROUNDS"); do
  for w in $WINDOWS; do
    echo "=== round $round of $ROUNDS, window $w"
    run_one "$w" || { [ "$w" = "$last" ] && rc=1; }
    sed -i "\$s/^/round=$round /" "$TMP/summary"
  done
done

# --- the table: each run, and its ratio to the baseline of its round
echo
echo "=== $CLIENTS clients, $POSTS posts at RATE=$RATE/s; last client's delivery (201 -> it has the post), server CPU from the first post to the last delivery"
python3 - "$TMP/summary" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    rows.append(dict(kv.split("=", 1) for kv in line.split()))
print("%-5s %-7s %9s %9s %9s %8s %9s %9s %9s  %-6s %s" % ("round", "window", "p50 ms", "p99 ms", "max ms", "KB/cl", "srv CPU s", "load CPU", "others s", "result", "vs baseline (p99, server CPU)"))
base = {}
for r in rows:
    if "p99_ms" not in r:
        print("%-5s %-7s %s" % (r.get("round", "?"), r["window"], r.get("result", "?")))
        continue
    key = r["round"]
    if key not in base:
        base[key] = r
    b = base[key]
    ratio = "%.2fx, %.2fx" % (float(r["p99_ms"]) / max(float(b["p99_ms"]), 0.1), float(r["server_cpu_s"]) / max(float(b["server_cpu_s"]), 0.01))
    print("%-5s %-7s %9s %9s %9s %8s %9s %9s %9s  %-6s %s" % (r["round"], r["window"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["kb_per_client"], r["server_cpu_s"], r["load_cpu_s"], r["others_cpu_s"], r["result"], ratio))
PY
exit $rc
