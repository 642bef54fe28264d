#!/usr/bin/env bash
# System packages some features and their tests need, from Debian's archive:
#   fonts-noto-cjk   zh-TW labels in PNG charts (trend.png, map --png)
#   chromium         headless browser for the map tests (driven by Playwright with executable_path)
#   poppler-utils    pdftotext/pdftoppm: the brief's PDF is read back and rendered in the tests
# Idempotent: installs only what is missing. Needs root and apt-get; otherwise explains and exits 0
# (the tests that need these then skip with a reason, or fail when CI=true).
set -euo pipefail
packages=(fonts-noto-cjk chromium poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: system packages missing (${missing[*]}); install them with apt-get as root for charts and browser tests" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
