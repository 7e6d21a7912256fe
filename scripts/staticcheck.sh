#!/usr/bin/env bash
# Runs the pinned staticcheck on its arguments (make test: ./...). Installs
# that version into .cache/bin when it is not there yet (half a minute,
# once). The version is pinned so that a new check never fails a build by
# surprise; v0.8.2 (2026.2.2) needs Go 1.26, as go.mod does. Bump it here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo/.cache
version=v0.8.2
bin=$cache/bin/staticcheck

# staticcheck -version prints "staticcheck 2026.2.2 (0.8.2)".
current() { [ -x "$bin" ] && "$bin" -version 2>/dev/null | grep -qF "(${version#v})"; }

if ! current; then
  mkdir -p "$cache"
  exec 9>"$cache/staticcheck.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if ! current; then
    echo "staticcheck.sh: installing staticcheck $version into $cache/bin" >&2
    GOBIN=$cache/bin go install "honnef.co/go/tools/cmd/staticcheck@$version"
  fi
  exec 9>&-
fi

cd "$repo"
exec "$bin" "$@"
