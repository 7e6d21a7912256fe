#!/usr/bin/env bash
# Abuse: what an attacker costs the site's well-behaved users. Two runs of
# DURATION (30 s), each on a fresh one-process Maniwani (SQLite, embedded
# defaults; REDIS=1 puts its cache and bus in a private redis-server): 8
# readers of one thread, its board and its JSON, and 2 posters replying at
# a person's pace, alone and then beside an attacker doing what the
# hostile-traffic issue lists (9 MiB uploads to an 8 MiB board, 400 KB
# forms, 200 MB and endless chunked streams, a rotated 6000x6000 JPEG from
# an address in its cooldown and from fresh ones, 24 parallel wrong admin
# logins, threads from one IPv6 /64, cache-busting query strings,
# cross-site forms). It prints the well-behaved clients' p50/p99 and errors
# and the server's peak RSS for both, what the attacker got, and whether the
# targets hold: p99 under attack within 2x of the quiet run's, no errors for
# the well-behaved, peak RSS under 300 MB.
#
#   bash bench/abuse/run.sh
#   DURATION=10s REDIS=1 bash bench/abuse/run.sh
#
# The attacker is a process of its own at the lowest CPU priority (nice 19):
# its own work is a real attacker's machine's, not this server's. ONLY=1,5
# runs only those of its loops (numbered as in main.go's attacks).
# SERVER_CPUS and LOAD_CPUS (taskset CPU lists) pin the server, and the
# well-behaved clients and the attacker, apart: e.g. SERVER_CPUS=0
# LOAD_CPUS=1, so that what the attacker's own program costs is not taken
# from the server's CPU in one run and not the other.
#
# Exit status: 0 when the targets hold, 1 when not, 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
DURATION=${DURATION:-30s}
REDIS=${REDIS:-0}
. "$(dirname "$0")/../lib.sh"
bench_init abuse
build_maniwani
pin_cpus
(cd "$root" && go build -o "$TMP/abuse" ./bench/abuse) || die "go build ./bench/abuse failed"

for mode in quiet attack; do
  rm -rf "$TMP/data"
  extra=()
  if [ "$REDIS" = 1 ]; then
    rp=$(port)
    redis-server --bind 127.0.0.1 --port "$rp" --save "" --appendonly no >"$TMP/redis-$mode.log" 2>&1 &
    RPID=$!; PIDS="$PIDS $RPID"
    for i in $(seq 1 50); do redis-cli -p "$rp" ping >/dev/null 2>&1 && break; sleep 0.1; done
    extra=(MANIWANI_REDIS_URL=redis://127.0.0.1:$rp/0)
  fi
  start_maniwani "${extra[@]}"
  flag=""
  if [ $mode = attack ]; then
    flag=-attack
    nice -n 19 "${PIN_LOAD[@]}" "$TMP/abuse" -attacker -url "$R" ${ONLY:+-only "$ONLY"} -ready "$TMP/attacking" -out "$TMP/attacker.json" &
    APID=$!; PIDS="$PIDS $APID"
    for i in $(seq 1 300); do [ -e "$TMP/attacking" ] && break; sleep 0.1; done
    [ -e "$TMP/attacking" ] || die "the attacker did not begin"
  fi
  "${PIN_LOAD[@]}" "$TMP/abuse" -url "$R" -pid "$MPID" -duration "$DURATION" $flag -out "$TMP/$mode.json" || die "the $mode run failed"
  [ $mode = attack ] && { kill -TERM "$APID"; wait "$APID"; }
  kill "$MPID"; wait "$MPID" 2>/dev/null
  [ "$REDIS" = 1 ] && { kill "$RPID"; wait "$RPID" 2>/dev/null; }
done
"$TMP/abuse" -compare "$TMP/quiet.json" "$TMP/attack.json" "$TMP/attacker.json"
