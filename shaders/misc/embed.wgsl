// Token embedding lookup: out[t, c] = table[ids[idsOffset + t], c] · SCALE, dequantised to f32 (SCALE: Gemma's
// sqrt(hidden); 1 elsewhere, which leaves the bits unchanged). The table may be one row
// piece of a larger one (rows rowStart .. rowStart + tableRows): tokens outside it are left to the other pieces.
// FORMAT selects the table storage (see src/kernels/tensor.ts): 0 f32, 1 f16 pairs, 2 q8 blocks, 3 q4 blocks, 4 bf16 pairs.
#include "common/quant.wgsl"

struct Params { idsOffset: u32, count: u32, cols: u32, rowStart: u32, tableRows: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;      // [idsOffset + count] token ids
@group(0) @binding(2) var<storage, read> table: array<u32>;    // [tableRows, cols] f32 bits | [tableRows, cols/2] f16/bf16 pairs | [tableRows, cols/4] q8 | [tableRows, cols/8] q4
@group(0) @binding(3) var<storage, read> scales: array<f32>;   // [tableRows, cols/32] block scales (q8/q4; unused otherwise)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // [count, cols]

override WG: u32 = 64;
override FORMAT: u32 = 0;
override SCALE: f32 = 1.0;

fn element(row: u32, c: u32) -> f32 {
  let cols = params.cols;
  if (FORMAT == FORMAT_F32) { return bitcast<f32>(table[row * cols + c]); }
  if (is_16bit()) { return unpack_16(table[row * (cols / 2u) + c / 2u])[c & 1u]; }
  let scale = scales[row * (cols / 32u) + c / 32u];
  if (FORMAT == FORMAT_Q8) {
    let word = table[row * (cols / 4u) + c / 4u];
    // shift the byte to the top, then arithmetic-shift back to sign-extend the int8
    return f32(bitcast<i32>(word << (24u - 8u * (c & 3u))) >> 24u) * scale;
  }
  let word = table[row * (cols / 8u) + c / 8u];
  return (f32((word >> (4u * (c & 7u))) & 15u) - 8.0) * scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let t = gid.y;
  if (c >= params.cols || t >= params.count) { return; }
  let row = ids[params.idsOffset + t] - params.rowStart; // wraps above tableRows for ids below rowStart
  if (row >= params.tableRows) { return; }
  out[t * params.cols + c] = element(row, c) * SCALE;
}
