// Kangaroo's draft confidence: the top-1 probability of softmax(logits row), i.e. 1 / Σ_v exp(l_v − max l).
// One workgroup per row: a max reduction, then a sum reduction.
struct Params { vocab: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;     // [rows, vocab]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [outOffset + rows] top-1 probabilities

override WG: u32 = 64; // a power of two (tree reduction)
const LOWEST = -0x1.fffffep+127f; // lowest finite f32 (a constant -inf does not compile)

#include "common/workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let t = lid.x;
  let base = wg.x * params.vocab;
  var m = LOWEST;
  for (var i = t; i < params.vocab; i += WG) { m = max(m, logits[base + i]); }
  let top = workgroup_max(t, m);
  var s = 0.0;
  for (var i = t; i < params.vocab; i += WG) { s += exp(logits[base + i] - top); }
  let total = workgroup_sum(t, s);
  if (t == 0u) { out[params.outOffset + wg.x] = 1.0 / total; }
}
