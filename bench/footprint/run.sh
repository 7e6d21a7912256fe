#!/usr/bin/env bash
# Footprint: the size of the binary the image ships, and the idle memory of
# each Maniwani process: first the all-in-one process on its embedded
# defaults, then each service alone in its own process (-target=NAME), the
# seven of them wired to each other as docker-compose.yml wires them.
#
#   bash bench/footprint/run.sh
#   SPLIT=0 bash bench/footprint/run.sh     # the all-in-one process only
#
# It builds ./cmd/maniwani as the Dockerfile does (CGO_ENABLED=0, -trimpath,
# -ldflags "-s -w"; or takes MANIWANI_BIN) and prints its size. Each process
# is measured idle: after it started, after a few requests through the
# router (pages, JSON, a thread with an image and a reply, its thumbnail, a
# second of its live stream) and IDLE seconds (2) with nothing to do; the
# figure is VmRSS of /proc/PID/status (the peak, VmHWM, beside it), and for
# a picture of what the seven together cost, each one's PSS (a page shared
# by n processes counts 1/n; the seven map the one binary).
#
# The split run needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust;
# scripts/services.sh), where it makes a throwaway database, MinIO on
# 127.0.0.1:9000 (minioadmin; scripts/minio.sh), bucket maniwani-footprint,
# and starts a private redis-server on a free port (Pub/Sub is shared by every
# database number of one Redis, so a shared Redis would mix runs).
#
# Targets: at most 30 MiB idle RSS for each service alone, at most 60 MiB for
# the all-in-one process.
# Settings (environment): IDLE (seconds, 2), SPLIT (1; 0 skips the split run),
# MANIWANI_BIN, HOLD (seconds to keep the split processes running after the
# figures, to look at them: their PIDs and ops addresses are printed).
# Exit status: 0 when every process measured meets its target, 1 when one
# does not, 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
IDLE=${IDLE:-2}
SPLIT=${SPLIT:-1}
SERVICE_MAX_KB=$((30 * 1024))
ALL_MAX_KB=$((60 * 1024))

. "$(dirname "$0")/../lib.sh"
bench_init footprint
command -v curl >/dev/null || die "needs curl"
command -v python3 >/dev/null || die "needs python3"

DB=""
fp_cleanup() {
  bench_cleanup
  [ -n "$DB" ] && psql -h 127.0.0.1 -U postgres -qAtc "drop database if exists $DB" >/dev/null 2>&1
}
trap fp_cleanup EXIT

# --- the binary, as the image has it ---------------------------------------------
BIN=${MANIWANI_BIN:-}
if [ -z "$BIN" ]; then
  BIN=$TMP/maniwani
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN" ./cmd/maniwani) >"$TMP/build.log" 2>&1 ||
    { tail -5 "$TMP/build.log"; die "go build failed"; }
fi
size=$(stat -c %s "$BIN")

# --- measuring ------------------------------------------------------------------------
# kB of a process's VmRSS or VmHWM.
mem() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
# kB of a process's proportional set size: its own pages, and its share of
# those it maps with others (the seven apart map one binary).
pss() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ROWS=()   # name pid limit-kB
FAILED=0

# exercise URL: a few requests of every kind through the router at URL.
exercise() {
  local r=$1 out thread tim i
  for u in / /boards.json /b/ /b/catalog /b/catalog.json /b/threads.json /b/1.json; do
    curl -s -o /dev/null "$r$u"
  done
  out=$(curl -s -H 'Accept: application/json' -H 'X-Forwarded-For: 10.91.0.1' --form-string resto=0 \
    --form-string "sub=Footprint" --form-string "com=A thread to measure the footprint." \
    -F "upfile=@$TMP/picture.png;type=image/png" "$r/b/post")
  thread=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["thread"])' 2>/dev/null) ||
    { echo "note: could not start a thread through $r: $out" >&2; return 0; }
  out=$(curl -s -H 'Accept: application/json' -H 'X-Forwarded-For: 10.91.0.2' --form-string "resto=$thread" \
    --form-string "com=>>$thread a reply" "$r/b/post")
  case $out in *'"no"'*) ;; *) echo "note: reply refused: $out" >&2 ;; esac
  for i in 1 2; do
    curl -s -o /dev/null "$r/b/thread/$thread"; curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$r/b/thread/$thread"
    curl -s -o /dev/null "$r/b/thread/$thread.json"; curl -s -o /dev/null "$r/"
  done
  tim=$(curl -s "$r/b/thread/$thread.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["posts"][0]["tim"])' 2>/dev/null)
  if [ -n "$tim" ]; then
    curl -s -o /dev/null "$r/media/b/$tim.png"
    for i in $(seq 1 50); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "$r/media/b/${tim}s.jpg")" = 200 ] && break
      sleep 0.1
    done
    [ "$i" = 50 ] && echo "note: no thumbnail of /media/b/$tim.png within 5 s" >&2
  else
    echo "note: the thread's JSON has no file" >&2
  fi
  curl -s -o /dev/null -m 1 "$r/live/b/$thread"
  curl -s -o /dev/null -m 1 "$r/live/b"
  return 0
}

python3 - "$TMP/picture.png" 640 480 <<'PY'
import sys, zlib, struct
f, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = b"".join(b"\x00" + bytes(((x * 7 + y * 3 + c * 50) % 256 for x in range(w) for c in range(3))) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(f, "wb").write(png)
PY

# --- all in one process ------------------------------------------------------------------
start_maniwani
exercise "$R"
sleep "$IDLE"
ROWS+=("all-in-one $MPID $ALL_MAX_KB")
ALL_RSS=$(mem "$MPID" VmRSS); ALL_HWM=$(mem "$MPID" VmHWM); ALL_ANON=$(mem "$MPID" RssAnon); ALL_FILE=$(mem "$MPID" RssFile)
ALL_PSS=$(pss "$MPID")
[ -n "$ALL_RSS" ] || { tail -20 "$TMP/server.log"; die "the all-in-one process died"; }
kill "$MPID"; wait "$MPID" 2>/dev/null   # out of the way of the split run

# --- each service apart -------------------------------------------------------------------
SPLIT_NOTE=""
if [ "$SPLIT" = 0 ]; then
  SPLIT_NOTE="split run skipped (SPLIT=0)"
elif ! MANIWANI_ADDR=127.0.0.1:0 MANIWANI_OPS_ADDR=127.0.0.1:0 MANIWANI_DATA_DIR="$TMP/probe" \
  timeout 5 "$BIN" -h 2>&1 | grep -q -- '-target'; then
  SPLIT_NOTE="split run skipped: this maniwani has no -target"
else
  command -v redis-server >/dev/null || die "the split run needs redis-server (scripts/services.sh installs it)"
  "$root/scripts/services.sh" >"$TMP/services.log" 2>&1 || { tail -3 "$TMP/services.log"; die "PostgreSQL is not there (scripts/services.sh)"; }
  "$root/scripts/minio.sh" >"$TMP/minio.log" 2>&1 || { tail -3 "$TMP/minio.log"; die "MinIO is not there (scripts/minio.sh)"; }
  DB=maniwani_footprint_$$
  psql -h 127.0.0.1 -U postgres -qAtc "create database $DB" >"$TMP/psql.log" 2>&1 || { cat "$TMP/psql.log"; DB=""; die "could not create a database"; }
  rp=$(port)
  redis-server --bind 127.0.0.1 --port "$rp" --save "" --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
  PIDS="$PIDS $!"
  for i in $(seq 1 50); do redis-cli -p "$rp" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$rp" ping >/dev/null 2>&1 || die "redis did not start"

  declare -A ADDR OPS SPID
  for t in router api ui markdown thumbnailer media live; do ADDR[$t]=$(port); OPS[$t]=$(port); done
  url() { echo "http://127.0.0.1:${ADDR[$1]}"; }
  REDIS=(MANIWANI_REDIS_URL=redis://127.0.0.1:$rp/0)
  S3=(MANIWANI_S3_ENDPOINT=127.0.0.1:9000 MANIWANI_S3_ACCESS_KEY=minioadmin MANIWANI_S3_SECRET_KEY=minioadmin
    MANIWANI_S3_BUCKET=maniwani-footprint MANIWANI_S3_SECURE=false)
  # What each service is given: what docker-compose.yml gives it.
  service_env() {
    case $1 in
      router) echo "${REDIS[@]}" "MANIWANI_API_URL=$(url api)" "MANIWANI_UI_URL=$(url ui)" \
        "MANIWANI_MEDIA_URL=$(url media)" "MANIWANI_LIVE_URL=$(url live)" ;;
      api) echo "${REDIS[@]}" "${S3[@]}" "MANIWANI_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" \
        "MANIWANI_MEDIA_URL=$(url media)" "MANIWANI_MARKDOWN_URL=$(url markdown)" MANIWANI_ADMIN_PASSWORD=bench-admin-pw ;;
      ui) echo "MANIWANI_API_URL=$(url api)" ;;
      markdown) echo "${REDIS[@]}" ;;
      thumbnailer) echo "${REDIS[@]}" "MANIWANI_MEDIA_URL=$(url media)" ;;
      media) echo "${S3[@]}" "MANIWANI_API_URL=$(url api)" ;;
      live) echo "${REDIS[@]}" ;;
    esac
  }
  # In the order of docker-compose.yml's depends_on.
  for t in markdown media api ui thumbnailer live router; do
    mkdir -p "$TMP/$t"
    # shellcheck disable=SC2046 # the settings are words without spaces
    env MANIWANI_ADDR=127.0.0.1:${ADDR[$t]} MANIWANI_OPS_ADDR=127.0.0.1:${OPS[$t]} MANIWANI_DATA_DIR="$TMP/$t" \
      MANIWANI_TRUSTED_PROXIES=127.0.0.1/32 $(service_env "$t") "$BIN" -target="$t" >"$TMP/$t.log" 2>&1 &
    SPID[$t]=$!
    PIDS="$PIDS $!"
    for i in $(seq 1 150); do curl -sf -o /dev/null "http://127.0.0.1:${OPS[$t]}/readyz" && break; sleep 0.1; done
    curl -sf -o /dev/null "http://127.0.0.1:${OPS[$t]}/readyz" || { tail -10 "$TMP/$t.log"; die "-target=$t was not ready within 15 s"; }
  done
  SR=$(url router)
  for i in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$SR/boards.json")" = 200 ] && break; sleep 0.1; done
  exercise "$SR"
  sleep "$IDLE"
  for t in router api ui markdown thumbnailer media live; do
    ROWS+=("$t ${SPID[$t]} $SERVICE_MAX_KB")
  done
fi

# --- the figures -----------------------------------------------------------------------------
echo "footprint: binary $(mib $((size / 1024))) MiB ($size bytes; CGO_ENABLED=0 -trimpath -ldflags \"-s -w\", as the Dockerfile builds it)"
echo "idle RSS: after start, a few requests through the router and ${IDLE}s idle"
echo "(VmRSS = RssAnon, the heap, stacks and runtime, + RssFile, the pages of the binary mapped; peak VmHWM;"
echo " PSS counts a page mapped by n processes as 1/n: the seven apart share one binary's pages)"
printf '%-12s %9s %10s %10s %10s %8s %8s  %s\n' process "RSS MiB" "heap etc" "binary" "peak MiB" "PSS MiB" target ""
total=0 totalpss=0
for row in "${ROWS[@]}"; do
  read -r name pid limit <<<"$row"
  if [ "$name" = all-in-one ]; then
    rss=$ALL_RSS hwm=$ALL_HWM anon=$ALL_ANON file=$ALL_FILE p=$ALL_PSS
  else
    rss=$(mem "$pid" VmRSS) hwm=$(mem "$pid" VmHWM) anon=$(mem "$pid" RssAnon) file=$(mem "$pid" RssFile) p=$(pss "$pid")
  fi
  if [ -z "$rss" ]; then
    printf '%-12s %9s %10s %10s %10s %8s %8s  %s\n' "$name" - - - - - "<= $((limit / 1024))" "DIED (see its log)"
    tail -5 "$TMP/$name.log" 2>/dev/null
    FAILED=1; continue
  fi
  verdict=ok
  [ "$rss" -le "$limit" ] || { verdict="OVER"; FAILED=1; }
  [ "$name" = all-in-one ] || { total=$((total + rss)); totalpss=$((totalpss + ${p:-0})); }
  printf '%-12s %9s %10s %10s %10s %8s %8s  %s\n' "$name" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$file")" "$(mib "$hwm")" \
    "$(mib "${p:-0}")" "<= $((limit / 1024))" "$verdict"
done
[ "$total" -gt 0 ] && printf '%-12s %9s %10s %10s %10s %8s\n' "7 apart" "$(mib $total)" "" "" "" "$(mib $totalpss)"
[ -n "$SPLIT_NOTE" ] && echo "note: $SPLIT_NOTE"
for f in "$TMP"/*.log; do
  grep -q '"level":"ERROR"' "$f" 2>/dev/null && { echo "errors in $(basename "$f" .log) (last 3):"; grep '"level":"ERROR"' "$f" | tail -3; }
done
echo "target (<= 30 MiB per service alone, <= 60 MiB all in one):" "$([ $FAILED = 0 ] && echo met || echo "NOT met")"
if [ -n "${HOLD:-}" ] && [ -z "$SPLIT_NOTE" ]; then
  for t in router api ui markdown thumbnailer media live; do echo "hold: $t pid ${SPID[$t]} ops 127.0.0.1:${OPS[$t]}"; done
  sleep "$HOLD"
fi
exit $FAILED
