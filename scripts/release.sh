#!/usr/bin/env bash
# make release: the static binary for each platform a release ships, with
# -trimpath and the version and commit stamped in (maniwani -version), and
# their SHA-256 sums, under dist/ (or $DIST):
#
#   dist/maniwani-VERSION-linux-amd64     dist/maniwani-VERSION-darwin-arm64
#   dist/maniwani-VERSION-linux-arm64     dist/maniwani-VERSION-windows-amd64.exe
#   dist/SHA256SUMS                       (sha256sum -c SHA256SUMS checks them)
#
# VERSION defaults to `git describe --tags --always --dirty`, COMMIT to the
# checked-out commit; PLATFORMS (GOOS/GOARCH words) to the four above.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64 windows/amd64}
DIST=${DIST:-dist}
case $VERSION in *[!A-Za-z0-9._+-]*) echo "release.sh: VERSION=$VERSION: letters, digits and ._+- only" >&2; exit 2 ;; esac

mkdir -p "$DIST"
rm -f "$DIST"/maniwani-* "$DIST"/SHA256SUMS
names=()
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  name=maniwani-$VERSION-$os-$arch
  [ "$os" = windows ] && name=$name.exe
  echo "release.sh: $name" >&2
  # CGO off: one static binary, no libc to match on the host.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" -o "$DIST/$name" ./cmd/maniwani
  names+=("$name")
done
(cd "$DIST" && sha256sum "${names[@]}" >SHA256SUMS)
echo "release.sh: $DIST/SHA256SUMS:" >&2
cat "$DIST/SHA256SUMS" >&2
