#!/usr/bin/env bash
# Makes sure the headless browser the browser tests drive is installed as
# `chromium`: Debian's chromium, from its packages when it is missing. On
# Ubuntu, whose chromium package is only a way to the snap store, an
# installed Google Chrome (the CI runners have one) is linked as chromium
# instead. Idempotent; quiet when it is there. Works as root or with
# passwordless sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; then
  exit 0
fi
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else echo "chromium.sh: chromium is missing and installing it needs root (or passwordless sudo)" >&2; exit 1
  fi
}
if grep -qs '^ID=ubuntu' /etc/os-release; then
  for c in google-chrome-stable google-chrome chromium-browser; do
    p=$(command -v "$c" 2>/dev/null) || continue
    "$p" --version >/dev/null 2>&1 || continue
    echo "chromium.sh: using $p as chromium" >&2
    as_root ln -sf "$p" /usr/local/bin/chromium
    exit 0
  done
fi
echo "chromium.sh: installing chromium" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null 2>&1 ||
  { as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null; }
chromium --version >/dev/null
