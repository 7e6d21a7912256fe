#!/usr/bin/env bash
# Makes sure a MinIO server answers on 127.0.0.1:9000 for the S3 tests
# (root user minioadmin/minioadmin). Builds the pinned MinIO into
# .cache/bin when it is not there yet (a few minutes, once), then starts it
# detached with its data under .cache/minio-data. Idempotent; quiet when all
# is well.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo/.cache
bin=$cache/bin/minio
version=v0.0.0-20260212201848-7aac2a2c5b7c
health=http://127.0.0.1:9000/minio/health/live

healthy() { curl -fsS -m 2 -o /dev/null "$health" 2>/dev/null; }

healthy && exit 0

# One build and one server when several runs start at once.
mkdir -p "$cache"
exec 9>"$cache/minio.lock"
if command -v flock >/dev/null; then flock 9; healthy && exit 0; fi

if [ ! -x "$bin" ]; then
  echo "minio.sh: building MinIO $version into $cache/bin (takes a few minutes, once)" >&2
  GOBIN=$cache/bin go install "github.com/minio/minio@$version"
fi

mkdir -p "$cache/minio-data"
MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin \
  setsid nohup "$bin" server "$cache/minio-data" \
  --address 127.0.0.1:9000 --console-address 127.0.0.1:9001 \
  >>"$cache/minio.log" 2>&1 </dev/null 9>&- &

for _ in $(seq 1 120); do
  healthy && exit 0
  sleep 0.5
done
echo "minio.sh: MinIO did not answer on $health within 60 s; see $cache/minio.log" >&2
exit 1
