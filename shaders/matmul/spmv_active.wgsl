// Activation-sparse MLP, step 3: partial[s] = Σ_i act_i · W_downᵀ[i] over chunk s of the live neurons (the
// (index, activation) list of sparse_compact and sparse_up_act; sparse_reduce adds the chunks in order). W_down is
// stored transposed, [neurons, hidden], so a live neuron is one contiguous row and a skipped neuron reads no
// weights; loops run over live neurons only, no branches. Each invocation owns 32 consecutive outputs (one quant
// block), read as 16-byte words (cheaper than 4-byte loads on CPU adapters), so a live neuron's list entry is
// read once per 32 weights.
// Chunks of CHUNK rows keep a workgroup's rows in cache while its invocations read their parts, and give GPUs
// split-K parallelism.
#include "common/weights8.wgsl"

struct Params { neurons: u32, n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> live: array<vec2<u32>>;   // [1 + neurons] (count, running total), then (index, act bits) pairs
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;      // [neurons, n] W_downᵀ in FORMAT, 16-byte words
@group(0) @binding(3) var<storage, read> scales: array<f32>;       // [neurons, n / 32] f32 (q8/q4)
@group(0) @binding(4) var<storage, read_write> partial: array<f32>; // [ceil(neurons / CHUNK), n] f32 per-chunk sums

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override WG: u32 = 64u;
override CHUNK: u32 = 64u; // live neurons per workgroup

const OUTPUTS = 32u; // per invocation: one quant block of each live row (n % 32 == 0)
const WORDS = array<u32, 5>(8u, 4u, 2u, 1u, 4u); // 16-byte words per invocation per row, by FORMAT code

// Unit u (outputs 8u..8u+7 of the invocation's 32; u a constant) of the row's words, times the block scale (q8/q4).
fn unit(q: array<vec4<u32>, 8>, scale: f32, u: u32) -> Weights8 {
  switch FORMAT {
    case FORMAT_F32: { return weights8(q[2u * u], q[2u * u + 1u], 1.0, 0u); }
    case FORMAT_F16, FORMAT_BF16: { return weights8(q[u], q[u], 1.0, 0u); }
    case FORMAT_Q8: { return weights8(q[u / 2u], q[u / 2u], scale, u % 2u); }
    default: { return weights8(q[0], q[0], scale, u); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let c = OUTPUTS * gid.x;
  let first = wg.y * CHUNK;
  let count = live[0].x;
  if (c >= params.n || first >= count) { return; }
  let words = WORDS[FORMAT];
  let row_words = params.n / OUTPUTS * words; // per row of W_downᵀ
  let row_scales = params.n / QUANT_BLOCK;
  var acc = array<vec4<f32>, 8>(); // outputs c..c+32, 4 per vector
  for (var j = first; j < min(first + CHUNK, count); j++) {
    let entry = live[1u + j]; // (index, activation) in one 8-byte load
    let i = entry.x;
    let a = bitcast<f32>(entry.y);
    let at = i * row_words + gid.x * words;
    var q = array<vec4<u32>, 8>();
    q[0] = w[at];
    if (words > 1u) { q[1] = w[at + 1u]; }
    if (words > 2u) {
      q[2] = w[at + 2u];
      q[3] = w[at + 3u];
    }
    if (words > 4u) {
      q[4] = w[at + 4u];
      q[5] = w[at + 5u];
      q[6] = w[at + 6u];
      q[7] = w[at + 7u];
    }
    var scale = 1.0;
    if (is_quantized()) { scale = scales[i * row_scales + gid.x]; }
    let u0 = unit(q, scale, 0u);
    let u1 = unit(q, scale, 1u);
    let u2 = unit(q, scale, 2u);
    let u3 = unit(q, scale, 3u);
    acc[0] += a * u0.lo;
    acc[1] += a * u0.hi;
    acc[2] += a * u1.lo;
    acc[3] += a * u1.hi;
    acc[4] += a * u2.lo;
    acc[5] += a * u2.hi;
    acc[6] += a * u3.lo;
    acc[7] += a * u3.hi;
  }
  let at = wg.y * params.n + c;
  for (var v = 0u; v < OUTPUTS / 4u; v++) {
    partial[at + 4u * v] = acc[v].x;
    partial[at + 4u * v + 1u] = acc[v].y;
    partial[at + 4u * v + 2u] = acc[v].z;
    partial[at + 4u * v + 3u] = acc[v].w;
  }
}
