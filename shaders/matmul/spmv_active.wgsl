// Activation-sparse MLP, step 3: partial[s] = Σ_i act_i · W_downᵀ[i] over chunk s of the live neurons (the
// compacted (index, activation) list from sparse_compact; sparse_reduce adds the chunks in order). W_down is stored transposed,
// [neurons, hidden], so a live neuron is one contiguous row and a skipped neuron reads no weights; loops run
// over live neurons only, no branches. Chunks of CHUNK rows keep a workgroup's rows in cache while its
// invocations (8 consecutive outputs each, hidden % 8 == 0) read their parts, and give GPUs split-K
// parallelism.
#include "common/quant.wgsl"

struct Params { neurons: u32, n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> live: array<u32>;         // [2 + 2 * neurons] u32 count, running total, (index, act bits) pairs
@group(0) @binding(2) var<storage, read> w: array<u32>;            // [neurons, n] W_downᵀ in FORMAT
@group(0) @binding(3) var<storage, read> scales: array<f32>;       // [neurons, n / 32] f32 (q8/q4)
@group(0) @binding(4) var<storage, read_write> partial: array<f32>; // [ceil(neurons / CHUNK), n] f32 per-chunk sums

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override CHUNK: u32 = 64u; // live neurons per workgroup

// W_downᵀ[i, c..c+8], c % 8 == 0, as two vec4s
fn row8(i: u32, c: u32) -> array<vec4<f32>, 2> {
  let at = i * params.n + c;
  switch FORMAT {
    case 0u: {
      return array<vec4<f32>, 2>(bitcast<vec4<f32>>(vec4<u32>(w[at], w[at + 1u], w[at + 2u], w[at + 3u])),
                                 bitcast<vec4<f32>>(vec4<u32>(w[at + 4u], w[at + 5u], w[at + 6u], w[at + 7u])));
    }
    case 1u: {
      let h = at / 2u;
      return array<vec4<f32>, 2>(vec4<f32>(unpack2x16float(w[h]), unpack2x16float(w[h + 1u])),
                                 vec4<f32>(unpack2x16float(w[h + 2u]), unpack2x16float(w[h + 3u])));
    }
    case 2u: {
      let s = scales[at / QUANT_BLOCK];
      return array<vec4<f32>, 2>(unpack_q8(w[at / 4u]) * s, unpack_q8(w[at / 4u + 1u]) * s);
    }
    default: {
      let word = w[at / 8u];
      let s = scales[at / QUANT_BLOCK];
      return array<vec4<f32>, 2>(unpack_q4_lo(word) * s, unpack_q4_hi(word) * s);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let c = 8u * gid.x;
  let first = wg.y * CHUNK;
  let count = live[0];
  if (c >= params.n || first >= count) { return; }
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var j = first; j < min(first + CHUNK, count); j++) {
    let i = live[2u + 2u * j];
    let a = bitcast<f32>(live[3u + 2u * j]);
    let r = row8(i, c);
    lo += a * r[0];
    hi += a * r[1];
  }
  let at = wg.y * params.n + c;
  partial[at] = lo.x;
  partial[at + 1u] = lo.y;
  partial[at + 2u] = lo.z;
  partial[at + 3u] = lo.w;
  partial[at + 4u] = hi.x;
  partial[at + 5u] = hi.y;
  partial[at + 6u] = hi.z;
  partial[at + 7u] = hi.w;
}
