// Per-head RMSNorm of q and k in place, one dispatch for both (Qwen3's and Gemma 3's q_norm / k_norm, applied
// before RoPE): every head vector of q [tokens, heads, headDim] (weight qWeight) and of k [tokens, kvHeads,
// headDim] (weight kWeight) is normalised as a row of misc/rmsnorm.wgsl would be, with the same bits. One
// workgroup per head vector, q's rows first; the branch between q and k is uniform per workgroup.
struct Params { qRows: u32, rows: u32, headDim: u32, eps: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qWeight: array<f32>;  // [headDim]
@group(0) @binding(2) var<storage, read> kWeight: array<f32>;  // [headDim]
@group(0) @binding(3) var<storage, read_write> q: array<f32>;  // [qRows, headDim] = [tokens, heads, headDim]
@group(0) @binding(4) var<storage, read_write> k: array<f32>;  // [rows − qRows, headDim] = [tokens, kvHeads, headDim]

override WG: u32 = 64u; // power of two

#include "common/rms_row.wgsl"

fn load(isQ: bool, i: u32) -> f32 {
  if (isQ) { return q[i]; }
  return k[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= params.rows) { return; } // past the grid (uniform per workgroup)
  let isQ = row < params.qRows;
  let base = select(row - params.qRows, row, isQ) * params.headDim;
  var sum = 0.0;
  for (var i = lid; i < params.headDim; i += WG) {
    let v = load(isQ, base + i);
    sum += v * v;
  }
  let inv = inv_rms(lid, sum, params.headDim, params.eps);
  for (var i = lid; i < params.headDim; i += WG) {
    if (isQ) { q[base + i] = norm_weight(qWeight[i]) * (q[base + i] * inv); }
    else { k[base + i] = norm_weight(kWeight[i]) * (k[base + i] * inv); }
  }
}
