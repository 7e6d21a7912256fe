#!/usr/bin/env bash
# Hot thread: what reading a thread that takes RATE (50) posts a second
# costs, against reading the same page with no writes, measured in one run,
# for three sites built from this checkout:
#   sqlite  one process, embedded defaults (SQLite, in-process cache and bus)
#   pg      one process on PostgreSQL and Redis (pg+redis)
#   apart   PostgreSQL and Redis, the services in one process and two
#           routers (-target=router) in two others; the readers are split
#           between the routers, the posts go through the first
# For each: an OP and 50 replies, then wrk (-t2 -c64 in all, gzip like
# browsers) on the thread page while a writer posts into it at RATE, then
# the same readers with no writes. Every 25th post is watched on every
# router: how long after its 201 the page a reader gets shows it.
# It prints, per site: reads under writes and without (req/s, their
# ratio), the posts' p50/p99/max, and the post-to-page staleness p50/max
# on each router.
#
#   bash bench/hot/run.sh
#   SITES="pg apart" DURATION=10 bash bench/hot/run.sh
#
# With BASE_BIN set (a binary built from another commit), each site is
# measured with it too, just before this checkout's, and printed beside.
#
# Settings (environment): SITES (default "sqlite pg apart"), DURATION (s
# of each wrk run, default 5), RATE (posts/s, default 50), PG_URL (a
# PostgreSQL server, default postgres://root@127.0.0.1:5432; a database of
# its own is made and dropped), MANIWANI_BIN (a binary to measure instead
# of building ./cmd/maniwani). Redis is a private redis-server, started
# for each site and stopped after it.
# Exit status: 0 when every site meets the targets (reads under writes at
# least 0.8 of without, posts p99 at most 100 ms, every watched post on
# every router's page within 1 s); 1 when not; 2 on a setup failure.
# Everything listens on 127.0.0.1 only; everything started is stopped, and
# the database dropped, on exit.
set -u
SITES=${SITES:-sqlite pg apart}
DURATION=${DURATION:-5}
RATE=${RATE:-50}
PG_URL=${PG_URL:-postgres://root@127.0.0.1:5432}
. "$(dirname "$0")/../lib.sh"
bench_init hot
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
command -v redis-server >/dev/null || die "redis-server is needed"
command -v psql >/dev/null || die "psql is needed (to make and drop the database)"
build_maniwani

DB=maniwani_hot_$$
DB_MADE=0
drop_db() { [ $DB_MADE = 1 ] && psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; }
trap 'bench_cleanup; drop_db' EXIT

# fresh_db: an empty database for the next site.
fresh_db() {
  drop_db
  psql -q "$PG_URL/postgres" -c "CREATE DATABASE $DB" >/dev/null || die "could not make database $DB on $PG_URL"
  DB_MADE=1
}

# start_redis: a private redis-server; sets REDIS (its URL) and RPID.
start_redis() {
  local rp; rp=$(port)
  redis-server --bind 127.0.0.1 --port "$rp" --save "" --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
  RPID=$!; PIDS="$PIDS $RPID"
  for i in $(seq 1 50); do redis-cli -p "$rp" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$rp" ping >/dev/null 2>&1 || die "redis did not start"
  REDIS=redis://127.0.0.1:$rp/0
}

# wait_up URL: until it answers.
wait_up() {
  for i in $(seq 1 150); do curl -s -o /dev/null "$1/boards.json" && return 0; sleep 0.1; done
  die "nothing answers on $1"
}

# start_apart ENV...: the services in one process, two routers in two
# others; sets R1, R2 and SITE_PIDS.
start_apart() {
  local sp so r1 o1 r2 o2
  read -r sp so r1 o1 r2 o2 < <(python3 -c 'import socket;s=[socket.socket() for _ in range(6)];[x.bind(("127.0.0.1",0)) for x in s];print(*[x.getsockname()[1] for x in s])')
  mkdir -p "$TMP/data"
  local common=(MANIWANI_TRUSTED_PROXIES=127.0.0.1/32 MANIWANI_ADMIN_PASSWORD=bench-admin-pw MANIWANI_DATA_DIR="$TMP/data" "$@")
  local svc=http://127.0.0.1:$sp
  env "${common[@]}" MANIWANI_ADDR=127.0.0.1:$sp MANIWANI_OPS_ADDR=127.0.0.1:$so \
    "$BIN" -target=api,ui,markdown,thumbnailer,media,live >"$TMP/services.log" 2>&1 &
  SITE_PIDS=$!
  wait_up "$svc"
  local p
  for p in "$r1 $o1" "$r2 $o2"; do
    set -- $p
    env "${common[@]}" MANIWANI_ADDR=127.0.0.1:$1 MANIWANI_OPS_ADDR=127.0.0.1:$2 MANIWANI_API_URL=$svc \
      MANIWANI_UI_URL=$svc MANIWANI_MEDIA_URL=$svc MANIWANI_LIVE_URL=$svc \
      "$BIN" -target=router >>"$TMP/routers.log" 2>&1 &
    SITE_PIDS="$SITE_PIDS $!"
  done
  PIDS="$PIDS $SITE_PIDS"
  R1=http://127.0.0.1:$r1; R2=http://127.0.0.1:$r2
  wait_up "$R1"; wait_up "$R2"
}

stop_site() {
  local p
  for p in $SITE_PIDS ${RPID:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  RPID=""
  rm -rf "$TMP/data"
}

# measure NAME POST_URL READ_URL...: the thread, the load, and the figures
# as one JSON line in $TMP/results.
measure() {
  python3 - "$@" "$DURATION" "$RATE" >>"$TMP/results" <<'PY'
import json, re, subprocess, sys, threading, time, urllib.request
name, post_url, reads, secs, rate = sys.argv[1], sys.argv[2], sys.argv[3:-2], int(sys.argv[-2]), float(sys.argv[-1])
def post(thread, i, body):
    b = "----hot%d" % i
    data = (f"--{b}\r\nContent-Disposition: form-data; name=\"resto\"\r\n\r\n{thread}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"com\"\r\n\r\n{body}\r\n--{b}--\r\n").encode()
    r = urllib.request.Request(post_url + "/b/post", data=data, method="POST", headers={
        "Content-Type": "multipart/form-data; boundary=" + b, "Accept": "application/json",
        "X-Forwarded-For": f"10.{62 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"})
    t0 = time.time()
    with urllib.request.urlopen(r, timeout=10) as a:
        no = json.load(a)["no"]
    return no, t0, time.time()
T = post(0, 0, "op text " * 30)[0]
for i in range(1, 51):
    post(T, i, "reply text %d " % i + "reply text " * 30)
pages = [f"{u}/b/thread/{T}" for u in reads]
def wrk(d):
    "wrk -t2 -c64 in all, split between the routers; req/s summed"
    n = len(pages)
    procs = [subprocess.Popen(["wrk", f"-t{max(1, 2 // n)}", f"-c{64 // n}", f"-d{d}s", "-H", "Accept-Encoding: gzip", p],
                              stdout=subprocess.PIPE, text=True) for p in pages]
    total = 0.0
    for p in procs:
        out = p.communicate()[0]
        if "Non-2xx" in out:
            sys.exit(f"{name}: non-2xx answers under load:\n{out}")
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return total
lat, errors, stop = [], [], []
stale = {p: [] for p in pages}
def watch(page, no, t1):
    "how long after its 201 the post is on the page a reader gets"
    while time.time() - t1 < 10:
        with urllib.request.urlopen(page, timeout=5) as a:
            if f'id="p{no}"'.encode() in a.read():
                stale[page].append(time.time() - t1)
                return
        time.sleep(0.02)  # as often as a reader who reloads: the watchers share the writer's process
    stale[page].append(10.0)
watchers = []
def writer():
    i, t_next = 1000, time.time()
    while not stop:
        t_next += 1 / rate
        try:
            no, t0, t1 = post(T, i, "hot reply %d " % i + "text " * 40)
            lat.append(t1 - t0)
            if i % 25 == 0:
                for p in pages:
                    w = threading.Thread(target=watch, args=(p, no, t1)); w.start(); watchers.append(w)
        except Exception as e:
            errors.append(repr(e))
        i += 1
        time.sleep(max(0, t_next - time.time()))
wrk(2)
w = threading.Thread(target=writer); w.start(); time.sleep(1)
busy = wrk(secs)
time.sleep(0.5); stop.append(1); w.join()
for x in watchers: x.join()
time.sleep(1)
quiet = wrk(secs)
size = len(urllib.request.urlopen(pages[0]).read())
print(json.dumps({"name": name, "busy": busy, "quiet": quiet, "lat": sorted(lat), "errors": errors,
                  "stale": [sorted(stale[p]) for p in pages], "kb": size // 1024, "routers": len(pages)}))
PY
}

: >"$TMP/results"
THIS_BIN=$BIN
for site in $SITES; do
  for which in ${BASE_BIN:+base} this; do
    BIN=$THIS_BIN; [ $which = base ] && BIN=$BASE_BIN
    label=$site; [ -n "${BASE_BIN:-}" ] && label="$site/$which"
    RPID=""
    case $site in
    sqlite)
      start_maniwani
      SITE_PIDS=$MPID
      measure "$label" "$R" "$R" || die "the $label run failed"
      ;;
    pg)
      fresh_db; start_redis
      start_maniwani MANIWANI_DATABASE_URL="$PG_URL/$DB?sslmode=disable" MANIWANI_REDIS_URL="$REDIS"
      SITE_PIDS=$MPID
      measure "$label" "$R" "$R" || die "the $label run failed"
      ;;
    apart)
      fresh_db; start_redis
      start_apart MANIWANI_DATABASE_URL="$PG_URL/$DB?sslmode=disable" MANIWANI_REDIS_URL="$REDIS"
      measure "$label" "$R1" "$R1" "$R2" || die "the $label run failed"
      ;;
    *) die "unknown site $site (sqlite, pg, apart)" ;;
    esac
    stop_site
  done
done

python3 - "$TMP/results" "$DURATION" "$RATE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
secs, rate = sys.argv[2], sys.argv[3]
pct = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")
print(f"hot thread: wrk -t2 -c64 -d{secs}s (gzip) on the thread page, {rate} posts/s into it, then no writes")
print(f"{'site':<12} {'under writes':>12} {'no writes':>10} {'ratio':>6} {'posts':>6} {'p50':>6} {'p99':>6} {'max':>6}   page stale after a post (p50/max ms, per router)")
ok = True
for r in rows:
    ratio = r["busy"] / r["quiet"]
    lat = r["lat"]
    st = "  ".join(f"r{i + 1} {pct(s, .5):.0f}/{pct(s, 1):.0f}" for i, s in enumerate(r["stale"]))
    print(f"{r['name']:<12} {r['busy']:>12.0f} {r['quiet']:>10.0f} {ratio:>6.2f} {len(lat):>6} {pct(lat, .5):>6.0f} {pct(lat, .99):>6.0f} "
          f"{pct(lat, 1):>6.0f}   {st}   (page {r['kb']} KB)")
    if r["errors"]:
        print(f"  {len(r['errors'])} posts failed: {r['errors'][0]}")
    worst = max((max(s) for s in r["stale"] if s), default=10.0)
    if not r["name"].endswith("/base") and (r["errors"] or ratio < 0.8 or pct(lat, .99) > 100 or worst > 1.0):
        ok = False
print("req/s summed over the routers; posts in ms; targets (of this checkout): ratio >= 0.8, posts p99 <= 100 ms, stale max <= 1000 ms:",
      "met" if ok else "NOT met")
sys.exit(0 if ok else 1)
PY
