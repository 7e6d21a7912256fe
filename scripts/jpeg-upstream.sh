#!/usr/bin/env bash
# Prints the changes the standard library's image/jpeg has had since
# internal/jpeg was forked from it, so that no upstream fix is
# missed. The fork keeps the upstream files it was made from, and the Go
# version they came with, in internal/jpeg/testdata/upstream;
# this diffs them against image/jpeg of the Go in use
# ($(go env GOROOT)/src/image/jpeg).
#
#   scripts/jpeg-upstream.sh          upstream's changes since the fork;
#                                     exits 1 when there are some
#   scripts/jpeg-upstream.sh -fork    the fork against upstream now, its
#                                     intended changes included
#   scripts/jpeg-upstream.sh -update  once the changes are ported: the Go
#                                     in use becomes the fork's base
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
fork=$repo/internal/jpeg
base=$fork/testdata/upstream
upstream=$(go env GOROOT)/src/image/jpeg
goversion=$(go env GOVERSION)
# The upstream files the fork is made of, and the fork's name for each.
forked=(dct.go:idct.go huffman.go:huffman.go reader.go:reader.go scan.go:scan.go)
# Upstream files the fork leaves out: the encoder, and the tests (the
# fork's reader_test.go is its own: it holds the fork to the standard
# library's decoder).
left_out=" dct_test.go fuzz_test.go reader_test.go writer.go writer_test.go "

[ -d "$upstream" ] || { echo "jpeg-upstream.sh: no $upstream" >&2; exit 2; }

case "${1:-}" in
-update)
  for p in "${forked[@]}"; do cp "$upstream/${p%%:*}" "$base/${p%%:*}"; done
  echo "$goversion" >"$base/VERSION"
  echo "jpeg-upstream.sh: the fork's base is now image/jpeg of $goversion"
  exit 0
  ;;
-fork)
  for p in "${forked[@]}"; do
    diff -u --label "upstream $goversion: ${p%%:*}" --label "fork: ${p##*:}" \
      "$upstream/${p%%:*}" "$fork/${p##*:}" || true
  done
  exit 0
  ;;
"") ;;
*) echo "usage: $0 [-fork | -update]" >&2; exit 2 ;;
esac

changed=0
echo "jpeg-upstream.sh: the fork's base is image/jpeg of $(cat "$base/VERSION"); the Go in use is $goversion"
for p in "${forked[@]}"; do
  f=${p%%:*}
  if [ ! -f "$upstream/$f" ]; then
    echo "upstream no longer has $f (the fork's ${p##*:})"
    changed=1
  elif ! diff -u --label "base: $f" --label "upstream $goversion: $f" "$base/$f" "$upstream/$f"; then
    changed=1
  fi
done
for path in "$upstream"/*.go; do
  f=$(basename "$path")
  case " ${forked[*]} " in *" $f:"*) continue ;; esac
  case "$left_out" in *" $f "*) continue ;; esac
  echo "upstream has a new file, $f"
  changed=1
done
if [ "$changed" = 0 ]; then
  echo "jpeg-upstream.sh: no upstream change since the fork"
fi
exit "$changed"
