#!/usr/bin/env bash
# Makes sure the programs the thumbnailer and its tests run are installed:
# ffmpeg (first frames of videos) and ImageMagick (test images, and the
# baseline of bench/thumbnail). Installs them from Debian's packages when
# they are missing; root is needed only then. Idempotent; quiet when all is
# well. With arguments, only those tools: `tools.sh tesseract` is the OCR
# bench/captcha attacks the captcha with, which no test needs.
set -euo pipefail

# as_root runs a command as root: directly, or through sudo without a
# password (Ubuntu CI runners).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else echo "tools.sh: installing needs root (or passwordless sudo)" >&2; exit 1
  fi
}
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null 2>&1 ||
    { as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >/dev/null; }
}

# ImageMagick is what says so: a "convert" earlier on PATH may be something
# else (a wrapper, or Windows' convert.exe under WSL).
imagemagick() {
  local c
  for c in convert /usr/bin/convert convert-im6.q16 magick; do
    command -v "$c" >/dev/null 2>&1 || continue
    if [ "$(basename "$c")" = magick ]; then
      magick convert -version 2>/dev/null | grep -q ImageMagick && return 0
    else
      "$c" -version 2>/dev/null | grep -q ImageMagick && return 0
    fi
  done
  return 1
}

# has TOOL: whether it is installed; package TOOL: its Debian package.
has() {
  case $1 in
  imagemagick) imagemagick ;;
  *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
package() {
  case $1 in
  tesseract) echo tesseract-ocr ;;
  *) echo "$1" ;;
  esac
}

[ $# -gt 0 ] || set -- ffmpeg imagemagick
missing=()
for t in "$@"; do has "$t" || missing+=("$(package "$t")"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tools.sh: installing ${missing[*]}" >&2
  apt_install "${missing[@]}"
  for t in "$@"; do has "$t" || { echo "tools.sh: $t is still missing" >&2; exit 1; }; done
fi
