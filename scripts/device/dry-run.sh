#!/usr/bin/env bash
# `npm run device:dry-run`: packs the GPU proof kit and runs it from a clean temporary folder on this machine's
# SwiftShader (CPU Vulkan), in run.sh's fast mode, so the kit cannot rot unnoticed. Prints what a device run would
# carry and fails if that is over 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
bash scripts/device/pack.sh .device-kit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r .device-kit "$tmp/kit"
VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json} bash "$tmp/kit/run.sh" --dry-run "$tmp/out"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const missing = ["gemv_vs_copy_bandwidth", "gemv_bf16_vs_copy_bandwidth", "self_speculative_speedup", "self_speculative_perfect_acceptance_bound", "decode_step_ms", "superposed_k3_vs_3_passes", "moe_vs_dense_active", "sparse_gemv_50pct_speedup", "real_width_decode_step_ms"].filter((k) => !(k in r.ratios));
  if (Object.keys(r.errors).length || missing.length || !r.parity.every((p) => p.pass)) { console.error("dry run results incomplete", r.errors, missing); process.exit(1); }
' "$tmp/out/gpu-results.json"
[ "$(ls "$tmp/out" | wc -l)" -le 8 ] || { echo "more than 8 result files" >&2; exit 1; }
# a device run carries the working tree too: with the kit alone checked out (README.md here), what travels is the
# kit plus scripts/device/
kit=$(du -sb .device-kit | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
sparse=$(git ls-files -z scripts/device | xargs -0 du -cb | tail -1 | cut -f1)
mib() { printf "%.2f" "$(echo "$1 / 1048576" | bc -l)"; }
echo "transfer: kit $(mib "$kit") MiB + scripts/device $(mib "$sparse") MiB = $(mib $((kit + sparse))) MiB of 64 (the whole tracked tree would add $(mib "$tree") MiB)"
[ $((kit + sparse)) -lt $((64 << 20)) ] || { echo "over the 64 MiB transfer limit" >&2; exit 1; }
echo "dry run passed in $(($(date +%s) - started)) s"
