#!/usr/bin/env bash
# Router speed: the router's cached thread page against nginx serving the very
# same bytes from a file, measured with wrk in one run, on this machine.
#
#   bash bench/router-speed/run.sh
#
# It starts a private redis-server and Maniwani (built from this checkout),
# fills a thread with an OP and 50 replies, copies what the router answers into
# files that nginx serves (the gzip answer beside the plain one, gzip_static
# on), warms both, and then runs wrk -t2 -c64 at each case, router and nginx
# taking turns. It prints requests/s and p99 of each, and router/nginx.
#
# Cases: "page" is the HTML thread page /b/thread/N when it answers 200
# text/html, else the thread JSON; "page gzip" is the same URL with
# Accept-Encoding: gzip; "json" is /b/thread/N.json.
#
# Settings (environment): ROUNDS (turns per case, default 2), DURATION (of
# one wrk run, default 5s), CONNS (default 64), THREADS (wrk's, default 2),
# MANIWANI_BIN (a binary to measure instead of building ./cmd/maniwani).
# Exit status: 0 when the router reaches 0.8x nginx's requests/s on the page,
# plain and gzip, with p99 under 5 ms; 1 when not; 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.
set -u
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
REPLIES=50

. "$(dirname "$0")/../lib.sh"
bench_init router-speed

# --- tools --------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v redis-server >/dev/null || need+=(redis-server)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >"$TMP/apt.log" 2>&1 ||
    { apt-get update -q >>"$TMP/apt.log" 2>&1 && apt-get install -y -q "${need[@]}" >>"$TMP/apt.log" 2>&1; } ||
    { tail -5 "$TMP/apt.log"; die "could not install ${need[*]}"; }
fi

# --- maniwani with redis ---------------------------------------------------------
build_maniwani
rp=$(port)
redis-server --bind 127.0.0.1 --port "$rp" --save "" --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 1 50); do redis-cli -p "$rp" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$rp" ping >/dev/null 2>&1 || die "redis did not start"

start_maniwani MANIWANI_REDIS_URL=redis://127.0.0.1:$rp/0

# --- the thread: an OP and 50 replies of about 300 characters ---------------------
post() { # RESTO TEXT XFF
  curl -s -H 'Accept: application/json' -H "X-Forwarded-For: $3" \
    --form-string "resto=$1" --form-string "com=$2" "$R/b/post"
}
text() { # N: about 300 characters, a little different for each post
  local s="Post $1 of the benchmark thread. " t=""
  while [ ${#t} -lt 300 ]; do t+="$s"; s="The quick brown fox $1 jumps over the lazy dog, again and again. "; done
  printf '%s' "${t:0:300}"
}
T=$(post 0 "$(text 0)" 10.77.0.1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["thread"])') || die "could not start a thread"
for i in $(seq 1 $REPLIES); do
  out=$(post "$T" "$(text "$i")" "10.77.$((i / 200 + 1)).$((i % 200 + 1))")
  case $out in *'"no"'*) ;; *) die "reply $i refused: $out" ;; esac
done

# --- the URLs and the bytes nginx serves -------------------------------------------
JSON=/b/thread/$T.json
PAGE=/b/thread/$T
curl -s -o /dev/null -w '%{http_code} %{content_type}' "$R$PAGE" | grep -q '^200 text/html' || PAGE=$JSON
case $PAGE in *.json) ext=json ;; *) ext=html ;; esac
# Ask twice: the first fills the cache, the second is what a hit answers.
for u in "$PAGE" "$JSON"; do curl -s -o /dev/null "$R$u"; curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$R$u"; done
W=$TMP/www
mkdir -p "$W"
curl -s -D "$TMP/page.h" -o "$W/page.$ext" "$R$PAGE"
curl -s -D "$TMP/gz.h" -o "$W/page.$ext.gz" -H 'Accept-Encoding: gzip' "$R$PAGE"
curl -s -o "$W/thread.json" "$R$JSON"
grep -qi '^x-cache: HIT' "$TMP/page.h" || die "the page is not a cache hit: $(tr -d '\r' <"$TMP/page.h" | tr '\n' ' ')"
if grep -qi '^content-encoding: gzip' "$TMP/gz.h"; then
  gzip -dc "$W/page.$ext.gz" | cmp -s - "$W/page.$ext" || die "the router's gzip answer does not unpack to the page"
else
  gzip -9 -n -c "$W/page.$ext" >"$W/page.$ext.gz"   # the router sent it plain: compare against nginx's best anyway
  echo "note: the router did not gzip $PAGE; nginx gets gzip -9 of it" >&2
fi
touch -r "$W/page.$ext" "$W/page.$ext.gz"   # gzip_static wants them alike
chmod 711 "$TMP"   # nginx workers run as nobody when started as root
chmod 755 "$W"; chmod 644 "$W"/*

np=$(port)
cat >"$TMP/nginx.conf" <<NG
worker_processes 2; daemon off; pid $TMP/nginx.pid; error_log $TMP/nginx.err;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  types { text/html html; application/json json; } default_type application/octet-stream;
  gzip_static on;
  server { listen 127.0.0.1:$np; root $W; }
}
NG
nginx -e "$TMP/nginx.err" -c "$TMP/nginx.conf" -p "$TMP" &
NGPID=$!
PIDS="$PIDS $NGPID"
N=http://127.0.0.1:$np
for i in $(seq 1 50); do curl -s "$N/page.$ext" | cmp -s - "$W/page.$ext" && break; sleep 0.1; done
curl -s "$N/page.$ext" | cmp -s - "$W/page.$ext" || { cat "$TMP/nginx.err" 2>/dev/null; die "nginx does not serve the page"; }
curl -s -H 'Accept-Encoding: gzip' -D "$TMP/ngz.h" "$N/page.$ext" | cmp -s - "$W/page.$ext.gz" &&
  grep -qi '^content-encoding: gzip' "$TMP/ngz.h" || die "nginx does not serve the gzip page"

# --- measure -------------------------------------------------------------------------
# each case: its name, the router's URL, nginx's URL, whether wrk asks for gzip
names=("page" "page gzip" "json")
rurls=("$R$PAGE" "$R$PAGE" "$R$JSON")
nurls=("$N/page.$ext" "$N/page.$ext" "$N/thread.json")
gz=(0 1 0)
NPIDS=$(pgrep -P "$NGPID" | tr '\n' ' ')   # nginx's workers
# CPU ticks: the whole machine's busy and total, one process's, this shell's finished children's.
ticks_machine() { awk '/^cpu /{print $2+$3+$4, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }   # user+nice+system (softirq is not any process's), all
ticks_pids() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
ticks_children() { awk '{print $16+$17}' /proc/$$/stat; }
run_wrk() { # OUT URL GZIP [DURATION [SERVER PIDS...]]: wrk; OUT.cpu gets the CPU the others used meanwhile
  local out=$1 url=$2 gz=$3 d=${4:-$DURATION} h=()
  shift 4 2>/dev/null || shift $#
  [ "$gz" = 1 ] && h=(-H 'Accept-Encoding: gzip')
  local m0 s0 c0 m1 s1 c1
  m0=$(ticks_machine); s0=$(ticks_pids "$@"); c0=$(ticks_children)
  wrk -t"$THREADS" -c"$CONNS" -d"$d" --latency "${h[@]}" "$url" >"$out" 2>&1
  m1=$(ticks_machine); s1=$(ticks_pids "$@"); c1=$(ticks_children)
  echo "$m0 $m1 $s0 $s1 $c0 $c1" | awk '{busy=$3-$1; total=$4-$2; print busy, total, $6-$5, $8-$7}' >"$out.cpu"
}
for c in 0 1 2; do run_wrk "$TMP/warm" "${rurls[$c]}" "${gz[$c]}" 1s; run_wrk "$TMP/warm" "${nurls[$c]}" "${gz[$c]}" 1s; done
for c in 0 1 2; do
  for r in $(seq 1 "$ROUNDS"); do
    run_wrk "$TMP/wrk.$c.r.$r" "${rurls[$c]}" "${gz[$c]}" "$DURATION" $MPID
    run_wrk "$TMP/wrk.$c.n.$r" "${nurls[$c]}" "${gz[$c]}" "$DURATION" $NPIDS
  done
done
python3 - "$TMP" "$ROUNDS" "wrk -t$THREADS -c$CONNS -d$DURATION" "$PAGE" "$JSON" "$W/page.$ext" "$W/page.$ext.gz" "$W/thread.json" "${names[@]}" <<'PY'
import os, re, sys
tmp, rounds, how, page, jsn = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sizes = [os.path.getsize(p) for p in sys.argv[6:9]]
names = sys.argv[9:]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
def parse(f):
    t = open(f).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    errs = re.search(r"Socket errors:.*", t)
    busy, total, server, client = (int(x) for x in open(f + ".cpu").read().split())
    others = max(0, busy - server - client) / total if total else 0   # the machine's CPU used by other processes
    return rps, float(m.group(1)) * unit[m.group(2)], int(bad.group(1)) if bad else 0, errs.group(0) if errs else "", others
print(f"router-speed: {how}, {rounds} turns each, router and nginx alternating; page = {page}")
print(f"bytes: page {sizes[0]}, page gzip {sizes[1]}, json {sizes[2]}")
print(f"{'case':<10} {'router req/s':>13} {'nginx req/s':>12} {'ratio':>6} {'router p99':>11} {'nginx p99':>10} {'others':>7}   per turn (router/nginx req/s)")
ok, notes, busiest = True, [], 0
for c, name in enumerate(names):
    r = [parse(f"{tmp}/wrk.{c}.r.{i}") for i in range(1, rounds + 1)]
    n = [parse(f"{tmp}/wrk.{c}.n.{i}") for i in range(1, rounds + 1)]
    rr, nr = sum(x[0] for x in r) / rounds, sum(x[0] for x in n) / rounds
    rp, npp = max(x[1] for x in r), max(x[1] for x in n)   # the worse turn's p99
    ratio = rr / nr
    turns = " ".join(f"{a[0]:.0f}/{b[0]:.0f}" for a, b in zip(r, n))
    others = max(x[4] for x in r + n)
    busiest = max(busiest, others)
    print(f"{name:<10} {rr:>13.0f} {nr:>12.0f} {ratio:>6.2f} {rp:>9.2f}ms {npp:>8.2f}ms {others:>6.0%}   {turns}")
    for who, xs in (("router", r), ("nginx", n)):
        for x in xs:
            if x[2] or x[3]:
                notes.append(f"{name} {who}: {x[2]} non-2xx; {x[3]}")
                ok = False
    if name in ("page", "page gzip") and (ratio < 0.8 or rp >= 5.0):
        ok = False
for m in notes:
    print("error:", m)
print("others: the largest share of the machine's CPU that processes other than the server under test and wrk took during a turn")
if busiest > 0.1:
    print(f"warning: other processes took up to {busiest:.0%} of the machine during the turns: the figures are disturbed; run again on a quiet machine")
print("target (page, plain and gzip: router >= 0.8x nginx req/s, router p99 < 5 ms):", "met" if ok else "NOT met")
sys.exit(0 if ok else 1)
PY
