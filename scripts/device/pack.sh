#!/usr/bin/env bash
# Packs the GPU proof kit into a git-ignored folder (default .device-kit/), to be carried to a bare x86-64 Linux
# GPU machine (no network, no Node) and run there with `bash .device-kit/run.sh <out-dir>`. See README.md here.
#   bash scripts/device/pack.sh [kit-dir]
# Its downloads (the Node binary, the Vulkan loader) come from .cache/device/, fetched there by fetch.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${1:-.device-kit}
CACHE=.cache/device
LIMIT=$((64 << 20)) # what one device run may carry, the working tree included
NODE_VERSION=${NODE_VERSION:-$(node -p process.versions.node)}
NODE_VERSION=$NODE_VERSION bash scripts/device/fetch.sh
WEBGPU_VERSION=$(node -p "require('./node_modules/webgpu/package.json').version")
rm -rf "$KIT" && mkdir -p "$KIT/webgpu/dist/linux-x64" "$KIT/data/public/models" "$KIT/data/tests/fixtures"

# xz -9 of a large binary takes a minute: compress once per version
cached_xz() { # <source file> <cached .xz>
  [ -s "$2" ] || { xz -9 -T0 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"; }
}

# Node: the binary of the same version as this machine's (the bundle is built for it)
cp "$CACHE/node-$NODE_VERSION.xz" "$KIT/node.xz"

# Dawn for Node: the package's loader and its linux-x64 addon
cached_xz node_modules/webgpu/dist/linux-x64/dawn.node "$CACHE/dawn-$WEBGPU_VERSION.node.xz"
cp "$CACHE/dawn-$WEBGPU_VERSION.node.xz" "$KIT/webgpu/dist/linux-x64/dawn.node.xz"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$KIT/webgpu/"

# The Vulkan loader (the GPU machine has the NVIDIA driver, maybe not the loader)
cp "$CACHE"/libvulkan1_*_amd64.deb "$KIT/"

# The runtime and benchmarks, one file; the shipped models (no ONNX) and their reference fixtures
node scripts/device/bundle.mjs "$KIT"
for model in tiny-dense tiny-moe; do
  mkdir -p "$KIT/data/public/models/$model"
  cp public/models/$model/{config.json,generation_config.json,special_tokens_map.json,tokenizer.json,tokenizer_config.json,model.safetensors,eval.json} "$KIT/data/public/models/$model/"
  [ ! -f public/models/$model/adapter.safetensors ] || cp public/models/$model/adapter.safetensors "$KIT/data/public/models/$model/" # Kangaroo adapters
  cp tests/fixtures/$model.safetensors "$KIT/data/tests/fixtures/"
done
# compressed, unpacked by run.sh: the n-gram table (superposed decoding) and the Qwen tokenizer of the real-width model
mkdir -p "$KIT/xz/public/models" "$KIT/xz/tokenizers/qwen"
xz -9 -T0 -c public/models/ngrams-bpe2048.bin >"$KIT/xz/public/models/ngrams-bpe2048.bin.xz"
qwen_package=$(sed -n "/^export const QWEN/,/^};/s/.*tokenizer: '\(.*\)'.*/\1/p" bench/real_width.ts)
qwen_tokenizer=node_modules/${qwen_package:?no tokenizer package for QWEN in bench/real_width.ts}/models
for f in tokenizer.json tokenizer_config.json; do xz -9 -T0 -c "$qwen_tokenizer/$f" >"$KIT/xz/tokenizers/qwen/$f.xz"; done
cp scripts/device/run.sh "$KIT/"

kit=$(du -sb "$KIT" | cut -f1)
files=$(find "$KIT" -type f | wc -l)
printf 'packed %s: %d files, %.1f MiB (limit %d MiB with the working tree)\n' "$KIT" "$files" "$(echo "$kit / 1048576" | bc -l)" $((LIMIT >> 20))
[ "$kit" -lt "$LIMIT" ] || { echo "the kit is over the transfer limit" >&2; exit 1; }
