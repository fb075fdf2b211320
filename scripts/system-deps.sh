#!/usr/bin/env bash
# Checks the system libraries WeasyPrint needs, and installs the missing ones with apt-get when
# running as root on Debian/Ubuntu; otherwise prints the exact command and fails.
#   Pango (text layout), HarfBuzz subsetting (without it font subsetting is ~3.7x slower),
#   fontconfig and free fonts the PDFs name (DejaVu Sans; WenQuanYi Micro Hei for Chinese and
#   Japanese; Noto and Symbola for other scripts, symbols and emoji). Extra packages can be passed as arguments.
set -euo pipefail

packages=()
# Read once, then searched (a `… | grep -q` pipeline fails at random under pipefail: see the fonts below).
libs="$(ldconfig -p 2>/dev/null || true)"
have_lib() { grep -q "$1" <<<"$libs"; }
have_lib 'libpango-1.0.so.0' || packages+=(libpango-1.0-0)
have_lib 'libpangoft2-1.0.so.0' || packages+=(libpangoft2-1.0-0)
have_lib 'libharfbuzz-subset.so.0' || packages+=(libharfbuzz-subset0)
# The installed font families, read once: `fc-list | grep -q` under pipefail fails at random, when grep
# stops reading before fc-list has written everything (SIGPIPE), and reinstalled fonts on every run.
fonts=""
if command -v fc-list >/dev/null 2>&1; then
  fonts="$(fc-list : family 2>/dev/null || true)"
else
  packages+=(fontconfig)
fi
have_font() { grep -qi "$1" <<<"$fonts"; }
have_font 'DejaVu Sans' || packages+=(fonts-dejavu-core)
have_font 'WenQuanYi Micro Hei' || packages+=(fonts-wqy-microhei)
# Noto: the fallback for the scripts and symbols DejaVu lacks; Symbola: emoji in outline (WeasyPrint
# prints a colour-bitmap emoji font blank, so fonts-noto-color-emoji is no use on paper). A PDF/A
# print that would still miss a glyph is refused.
have_font 'Noto Sans' || packages+=(fonts-noto-core)
have_font 'Symbola' || packages+=(fonts-symbola)
# An extra package counts as present when Debian has it installed, or when the command it provides is
# already on the PATH from elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
command_of() {
  case "$1" in
    nodejs) echo node ;;
    poppler-utils) echo pdftotext ;;
    postgresql-client) echo psql ;;
    *) echo "$1" ;;
  esac
}
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 && continue
  command -v "$(command_of "$extra")" >/dev/null 2>&1 && continue
  packages+=("$extra")
done

[ ${#packages[@]} -eq 0 ] && exit 0

command="apt-get install -y --no-install-recommends ${packages[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $command </dev/null
else
  echo "Missing system packages: ${packages[*]}" >&2
  echo "Install them with:  sudo apt-get update && sudo $command" >&2
  exit 1
fi
