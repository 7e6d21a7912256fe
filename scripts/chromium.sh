#!/usr/bin/env bash
# Makes sure the headless browser the browser tests drive is installed:
# Debian's chromium, from its packages when it is missing. Idempotent; quiet
# when it is there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; then
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "chromium.sh: chromium is missing and installing it needs root" >&2; exit 1; }
echo "chromium.sh: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null 2>&1 ||
  { apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null; }
chromium --version >/dev/null
