#!/usr/bin/env bash
# Idempotent setup: installs what is missing (Debian's Chromium + Vulkan loader, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

find_chromium() {
  for c in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

missing=()
find_chromium >/dev/null || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || missing+=(libvulkan1)

if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]} with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: ${missing[*]} (a Chromium with WebGPU, and the Vulkan loader libvulkan.so.1)" >&2
    exit 1
  fi
fi

stamp=node_modules/.setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  touch "$stamp"
fi

# `--device-kit` (npm test): the GPU proof kit's downloads, so that its dry run fetches nothing
if [ "${1:-}" = --device-kit ]; then bash scripts/device/fetch.sh; fi
