#!/usr/bin/env bash
# Thumbnails against ImageMagick: a 12-megapixel JPEG, a 4-megapixel JPEG
# and a 2000x2000 PNG of photo-like content, made the same way every run;
# prints the median ms per image of each (the thumbnailer in-process,
# `convert FILE -thumbnail 250x250 OUT.jpg` per process), their ratio, and
# each one's peak RSS.
#
#   bash bench/thumbnail/run.sh        # 10 runs of each after a warm-up
#   N=30 bash bench/thumbnail/run.sh
#
# It installs ImageMagick and ffmpeg when missing (scripts/tools.sh, root
# needed only then) and builds ./bench/thumbnail, which re-runs itself as a
# child per file so that each file's peak RSS is its own.
#
# Settings (environment): N (10), CONVERT (ImageMagick's convert; found by
# default).
# Exit status: 0 when the targets are met (at most ImageMagick's time on the
# PNG and the 4 MP JPEG, at most 1.2x it on the 12 MP JPEG, at most 250 MB
# peak RSS on the 12 MP JPEG), 1 when not, 2 on a setup failure.
set -u
N=${N:-10}
CONVERT=${CONVERT:-}

. "$(dirname "$0")/../lib.sh"
bench_init thumbnail-bench

"$root/scripts/tools.sh" || die "ImageMagick is needed (scripts/tools.sh could not install it)"
BIN=$TMP/thumbnail-bench
(cd "$root" && go build -o "$BIN" ./bench/thumbnail) >"$TMP/build.log" 2>&1 || { tail -5 "$TMP/build.log"; die "go build ./bench/thumbnail failed"; }

echo "$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" -n "$N" -dir "$TMP" ${CONVERT:+-convert "$CONVERT"}
