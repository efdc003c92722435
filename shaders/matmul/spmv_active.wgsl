// Activation-sparse MLP, step 3: partial[s] = Σ_i act_i · W_downᵀ[i] over chunk s of the live neurons (the
// (index, activation) list of sparse_compact and sparse_up_act; sparse_reduce adds the chunks in order). W_down is stored transposed,
// [neurons, hidden], so a live neuron is one contiguous row and a skipped neuron reads no weights; loops run
// over live neurons only, no branches. Each invocation owns 32 consecutive outputs, read as 16-byte words
// (cheaper than 4-byte loads on CPU adapters), so a live neuron's list entry is read once per 32 weights.
// Chunks of CHUNK rows keep a workgroup's rows in cache while its invocations read their parts, and give GPUs
// split-K parallelism.
#include "common/quant.wgsl"

struct Params { neurons: u32, n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> live: array<vec2<u32>>;   // [1 + neurons] (count, running total), then (index, act bits) pairs
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;      // [neurons, n] W_downᵀ in FORMAT, 16-byte words
@group(0) @binding(3) var<storage, read> scales: array<f32>;       // [neurons, n / 32] f32 (q8/q4)
@group(0) @binding(4) var<storage, read_write> partial: array<f32>; // [ceil(neurons / CHUNK), n] f32 per-chunk sums

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override CHUNK: u32 = 64u; // live neurons per workgroup

const OUTPUTS = 32u; // per invocation: 8 f32 words, 4 f16, 2 q8 or 1 q4 of each live row (n % 32 == 0)

var<private> acc: array<vec4<f32>, 8>; // this invocation's outputs, 4 per vec4

fn add_f16(q: vec4<u32>, a: f32, v: u32) {
  acc[v] += a * vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y));
  acc[v + 1u] += a * vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w));
}

fn add_q8(q: vec4<u32>, s: f32, v: u32) {
  acc[v] += s * unpack_q8(q.x);
  acc[v + 1u] += s * unpack_q8(q.y);
  acc[v + 2u] += s * unpack_q8(q.z);
  acc[v + 3u] += s * unpack_q8(q.w);
}

// acc += a · W_downᵀ[i, c..c + 32), c = 32 · part (constant accumulator indices keep acc in registers)
fn add_row(i: u32, part: u32, a: f32) {
  let n = params.n;
  switch FORMAT {
    case 0u: {
      let at = i * (n / 4u) + 8u * part;
      acc[0] += a * bitcast<vec4<f32>>(w[at]);
      acc[1] += a * bitcast<vec4<f32>>(w[at + 1u]);
      acc[2] += a * bitcast<vec4<f32>>(w[at + 2u]);
      acc[3] += a * bitcast<vec4<f32>>(w[at + 3u]);
      acc[4] += a * bitcast<vec4<f32>>(w[at + 4u]);
      acc[5] += a * bitcast<vec4<f32>>(w[at + 5u]);
      acc[6] += a * bitcast<vec4<f32>>(w[at + 6u]);
      acc[7] += a * bitcast<vec4<f32>>(w[at + 7u]);
    }
    case 1u: {
      let at = i * (n / 8u) + 4u * part;
      add_f16(w[at], a, 0u);
      add_f16(w[at + 1u], a, 2u);
      add_f16(w[at + 2u], a, 4u);
      add_f16(w[at + 3u], a, 6u);
    }
    case 2u: {
      let at = i * (n / 16u) + 2u * part;
      let s = a * scales[i * (n / QUANT_BLOCK) + part];
      add_q8(w[at], s, 0u);
      add_q8(w[at + 1u], s, 4u);
    }
    default: {
      let q = w[i * (n / 32u) + part];
      let s = a * scales[i * (n / QUANT_BLOCK) + part];
      acc[0] += s * unpack_q4_lo(q.x);
      acc[1] += s * unpack_q4_hi(q.x);
      acc[2] += s * unpack_q4_lo(q.y);
      acc[3] += s * unpack_q4_hi(q.y);
      acc[4] += s * unpack_q4_lo(q.z);
      acc[5] += s * unpack_q4_hi(q.z);
      acc[6] += s * unpack_q4_lo(q.w);
      acc[7] += s * unpack_q4_hi(q.w);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let c = OUTPUTS * gid.x;
  let first = wg.y * CHUNK;
  let count = live[0].x;
  if (c >= params.n || first >= count) { return; }
  for (var j = first; j < min(first + CHUNK, count); j++) {
    let entry = live[1u + j]; // one 8-byte load
    add_row(entry.x, gid.x, bitcast<f32>(entry.y));
  }
  let at = wg.y * params.n + c;
  for (var v = 0u; v < OUTPUTS / 4u; v++) {
    partial[at + 4u * v] = acc[v].x;
    partial[at + 4u * v + 1u] = acc[v].y;
    partial[at + 4u * v + 2u] = acc[v].z;
    partial[at + 4u * v + 3u] = acc[v].w;
  }
}
