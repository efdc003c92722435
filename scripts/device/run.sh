#!/usr/bin/env bash
# The GPU proof run, from a packed kit (scripts/device/pack.sh), on a bare x86-64 Linux with a Vulkan GPU driver:
# no network and no Node needed. One command, a few minutes:
#   bash .device-kit/run.sh [--dry-run] [out-dir]        (out-dir defaults to $OUT)
# Unpacks into a temporary folder, points Vulkan at the NVIDIA driver, prints the adapter and runs bench/device.ts
# (model parity against the reference fixtures, gemv vs copy bandwidth, self-speculative vs greedy, superposed,
# MoE and sparse, a real-width random model, GGUF block types). Writes
# gpu-results.json, gpu-results.md and run.log into out-dir; exits non-zero if any part failed.
# --dry-run: small sizes, any adapter (a software one too), Vulkan driver from VK_ICD_FILENAMES as given.
set -euo pipefail
KIT=$(cd "$(dirname "$0")" && pwd)
DRY=0
[ "${1:-}" = --dry-run ] && { DRY=1; shift; }
OUT=$(mkdir -p "${1:-${OUT:?give an output folder or set OUT}}" && cd "${1:-$OUT}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
started=$(date +%s)

# xz, else Python's lzma (a bare image may lack the xz program)
unxz_to() { # <file.xz> <output>
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
unxz_to "$KIT/node.xz" "$WORK/node" && chmod +x "$WORK/node"
mkdir -p "$WORK/node_modules/webgpu/dist/linux-x64" && cp "$KIT"/webgpu/*.js* "$WORK/node_modules/webgpu/"
unxz_to "$KIT/webgpu/dist/linux-x64/dawn.node.xz" "$WORK/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$KIT/device.js" "$WORK/"
# the data the run reads and writes (the kit stays as carried): models, fixtures, and the compressed extras
cp -r "$KIT/data" "$WORK/data"
(cd "$KIT/xz" && find . -name '*.xz') | while read -r f; do
  mkdir -p "$WORK/data/$(dirname "$f")" && unxz_to "$KIT/xz/$f" "$WORK/data/${f%.xz}"
done

# the Vulkan loader: the system's, else the carried one (unpacked here, not over /)
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  dpkg-deb -x "$KIT"/libvulkan1_*_amd64.deb "$WORK/vulkan"
  export LD_LIBRARY_PATH="$WORK/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ $DRY = 0 ] && [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && { export VK_ICD_FILENAMES=$icd; break; }
  done
  : "${VK_ICD_FILENAMES:?no NVIDIA Vulkan driver manifest (nvidia_icd.json) found}"
fi
echo "node $("$WORK/node" --version), Vulkan driver ${VK_ICD_FILENAMES:-default}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

args=(--out="$OUT" --scratch="$WORK/scratch" --tokenizers="$WORK/data/tokenizers/qwen")
[ $DRY = 1 ] && args+=(--fast) || args+=(--require-hardware)
set +e
(cd "$WORK/data" && timeout 540 "$WORK/node" "$WORK/device.js" "${args[@]}") 2>&1 | tee "$OUT/run.log"
code=${PIPESTATUS[0]}
set -e
echo "run.sh: exit $code after $(($(date +%s) - started)) s; results in $OUT" | tee -a "$OUT/run.log"
exit "$code"
