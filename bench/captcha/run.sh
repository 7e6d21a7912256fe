#!/usr/bin/env bash
# The captcha against OCR: makes N challenges, prints the CPU time and PNG
# size of one, and the share tesseract reads (any of --psm 7, 8 and 13, told
# the alphabet), beside the share it reads of N plain ones (the baseline that
# shows it can read at all).
#
#   bash bench/captcha/run.sh          # 200 of each
#   N=50 PSM=7,8 bash bench/captcha/run.sh
#   KEEP=/tmp/captchas bash bench/captcha/run.sh   # keep the PNGs to look at
#
# It installs tesseract when missing (scripts/tools.sh tesseract, root
# needed only then) and builds ./bench/captcha. Running tesseract on 2N
# images in each mode takes minutes; it runs one per core.
# Exit status: 0 when the targets are met (under 5 ms of CPU and under
# 64 KB per challenge, under 2% read), 1 when not, 2 on a setup failure
# (including tesseract reading under half of the baseline).
set -u
N=${N:-200}
PSM=${PSM:-7,8,13}
KEEP=${KEEP:-}

. "$(dirname "$0")/../lib.sh"
bench_init captcha-bench

"$root/scripts/tools.sh" tesseract || die "tesseract is needed (scripts/tools.sh could not install it)"
BIN=$TMP/captcha-bench
(cd "$root" && go build -o "$BIN" ./bench/captcha) >"$TMP/build.log" 2>&1 || { tail -5 "$TMP/build.log"; die "go build ./bench/captcha failed"; }

echo "$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" -n "$N" -psm "$PSM" ${KEEP:+-dir "$KEEP"}
