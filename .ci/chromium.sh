#!/usr/bin/env bash
# Installs Debian's Chromium and chromedriver for the browser tests
# (tests/browser) when they are missing. Safe to run when they are there.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "chromium: $(chromium --version 2>/dev/null | head -n1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium: missing, and installing it needs root (apt-get install chromium chromium-driver)" >&2
  exit 1
fi
echo "chromium: installing chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q chromium chromium-driver >/dev/null
}
echo "chromium: $(chromium --version 2>/dev/null | head -n1)"
