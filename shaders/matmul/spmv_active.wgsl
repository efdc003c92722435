// Activation-sparse MLP, step 3: y (+)= Σ_i act_i · W_downᵀ[i] over the live neurons only (the compacted
// list from sparse_compact). W_down is stored transposed, [neurons, hidden], so a live neuron is one
// contiguous row and a skipped neuron reads no weights; the loop runs over live neurons only, no branches.
// Each invocation owns 4 consecutive outputs (hidden % 4 == 0) and sums neurons in index order.
#include "common/quant.wgsl"

struct Params { neurons: u32, n: u32, accumulate: u32, y_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;          // [neurons] f32 activations
@group(0) @binding(2) var<storage, read> live: array<u32>;         // [2 + neurons] u32 count, running total, live indices
@group(0) @binding(3) var<storage, read> w: array<u32>;            // [neurons, n] W_downᵀ in FORMAT
@group(0) @binding(4) var<storage, read> scales: array<f32>;       // [neurons, n / 32] f32 (q8/q4)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [n] f32, from y_offset

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;

// W_downᵀ[i, c..c+4], c % 4 == 0
fn row4(i: u32, c: u32) -> vec4<f32> {
  let at = i * params.n + c;
  switch FORMAT {
    case 0u: { return bitcast<vec4<f32>>(vec4<u32>(w[at], w[at + 1u], w[at + 2u], w[at + 3u])); }
    case 1u: { return vec4<f32>(unpack2x16float(w[at / 2u]), unpack2x16float(w[at / 2u + 1u])); }
    case 2u: { return unpack_q8(w[at / 4u]) * scales[at / QUANT_BLOCK]; }
    default: {
      let word = w[at / 8u];
      return select(unpack_q4_lo(word), unpack_q4_hi(word), (at & 4u) != 0u) * scales[at / QUANT_BLOCK];
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = 4u * (gid.x + gid.y * nwg.x * WG);
  if (c >= params.n) { return; }
  var acc = vec4<f32>(0.0);
  let count = live[0];
  for (var j = 0u; j < count; j++) {
    let i = live[2u + j];
    acc += act[i] * row4(i, c);
  }
  let at = params.y_offset + c;
  if (params.accumulate != 0u) { acc += vec4<f32>(y[at], y[at + 1u], y[at + 2u], y[at + 3u]); }
  y[at] = acc.x;
  y[at + 1u] = acc.y;
  y[at + 2u] = acc.z;
  y[at + 3u] = acc.w;
}
