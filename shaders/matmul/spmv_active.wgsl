// Activation-sparse MLP, step 3: partial[s] = Σ_i act_i · W_downᵀ[i] over chunk s of the live neurons (the
// compacted list from sparse_compact; sparse_reduce adds the chunks in order). W_down is stored transposed,
// [neurons, hidden], so a live neuron is one contiguous row and a skipped neuron reads no weights; loops run
// over live neurons only, no branches. Chunks of CHUNK rows keep a workgroup's rows in cache while its
// invocations (4 consecutive outputs each, hidden % 4 == 0) read their parts, and give GPUs split-K
// parallelism.
#include "common/quant.wgsl"

struct Params { neurons: u32, n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;          // [neurons] f32 activations
@group(0) @binding(2) var<storage, read> live: array<u32>;         // [2 + neurons] u32 count, running total, live indices
@group(0) @binding(3) var<storage, read> w: array<u32>;            // [neurons, n] W_downᵀ in FORMAT
@group(0) @binding(4) var<storage, read> scales: array<f32>;       // [neurons, n / 32] f32 (q8/q4)
@group(0) @binding(5) var<storage, read_write> partial: array<f32>; // [ceil(neurons / CHUNK), n] f32 per-chunk sums

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override CHUNK: u32 = 64u; // live neurons per workgroup

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
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let c = 4u * gid.x;
  let first = wg.y * CHUNK;
  let count = live[0];
  if (c >= params.n || first >= count) { return; }
  var acc = vec4<f32>(0.0);
  for (var j = first; j < min(first + CHUNK, count); j++) {
    let i = live[2u + j];
    acc += act[i] * row4(i, c);
  }
  let at = wg.y * params.n + c;
  partial[at] = acc.x;
  partial[at + 1u] = acc.y;
  partial[at + 2u] = acc.z;
  partial[at + 3u] = acc.w;
}
