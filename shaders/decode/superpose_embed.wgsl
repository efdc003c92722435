// Superposed input embedding: out[c] = (Σ_j weights[j] · table[ids[j], c]) · SCALE (the model's embedding scale).
// This is the vocab-sized weight vector w (w_v = Σ of the weights of drafts whose last token is v) times the
// embedding matrix, evaluated over w's nonzeros only: duplicate ids merge by the sum, as a scatter-add would.
// Weights are summed in draft order from 0.0, so a single draft with weight 1 gives exactly its embedding row.
// The table may be one row piece of a larger one (rows rowStart .. rowStart + tableRows): drafts outside it are
// skipped, and pieces after the first add to out (accumulate).
#include "common/quant.wgsl"

struct Params { count: u32, cols: u32, rowStart: u32, tableRows: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;       // [count] last token id of each draft
@group(0) @binding(2) var<storage, read> weights: array<f32>;   // [count] draft weights π (sum to 1)
@group(0) @binding(3) var<storage, read> table: array<u32>;     // [tableRows, cols] f32 bits | [tableRows, cols/2] f16/bf16 pairs | [tableRows, cols/4] q8 | [tableRows, cols/8] q4
@group(0) @binding(4) var<storage, read> scales: array<f32>;    // [tableRows, cols/32] block scales (q8/q4; unused otherwise)
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // [cols] the superposed embedding

override WG: u32 = 64;
override FORMAT: u32 = 0; // FORMAT_* (common/formats)
override SCALE: f32 = 1.0; // the model's embedding scale (Gemma: sqrt(hidden))

fn element(row: u32, c: u32) -> f32 {
  let cols = params.cols;
  if (FORMAT == FORMAT_F32) { return bitcast<f32>(table[row * cols + c]); }
  if (is_16bit()) { return unpack_16(table[row * (cols / 2u) + c / 2u])[c & 1u]; }
  let scale = scales[row * (cols / QUANT_BLOCK) + c / QUANT_BLOCK];
  if (FORMAT == FORMAT_Q8) { return unpack_q8(table[row * (cols / 4u) + c / 4u])[c & 3u] * scale; }
  let word = table[row * (cols / 8u) + c / 8u];
  let lane = c & 7u;
  if (lane < 4u) { return unpack_q4_lo(word)[lane] * scale; }
  return unpack_q4_hi(word)[lane - 4u] * scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.cols) { return; }
  var sum = 0.0;
  for (var j = 0u; j < params.count; j++) {
    let row = ids[j] - params.rowStart; // wraps above tableRows for ids below rowStart
    if (row < params.tableRows) { sum += weights[j] * element(row, c); }
  }
  // a later row piece adds its drafts to the earlier pieces' sum
  out[c] = select(0.0, out[c], params.accumulate != 0u) + sum * SCALE;
}
