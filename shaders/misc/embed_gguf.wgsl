// Token embedding lookup from a table in a GGUF block format (GGML, a GGML_* code of common/formats):
// out[t, 8g..8g+7] = weights 8g..8g+7 of row ids[idsOffset + t], decoded by common/ggml_blocks.wgsl. The table may be
// one row piece of a larger one (rows rowStart .. rowStart + tableRows): tokens outside it are left to the other pieces.
struct Params { idsOffset: u32, count: u32, cols: u32, rowStart: u32, tableRows: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;       // [idsOffset + count] token ids
@group(0) @binding(2) var<storage, read> table: array<u32>;     // [tableRows, row bytes/4]: rows of ggml blocks
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [count, cols]

override WG: u32 = 64;
override GGML: u32 = 0;

fn wword(i: u32) -> u32 { return table[i]; }

#include "common/ggml_blocks.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  let t = gid.y;
  if (8u * g >= params.cols || t >= params.count) { return; }
  let row = ids[params.idsOffset + t] - params.rowStart; // wraps above tableRows for ids below rowStart
  if (row >= params.tableRows) { return; }
  let u = ggml_unit(row * ggml_row_bytes(params.cols), g);
  let at = t * params.cols + 8u * g;
  for (var i = 0u; i < 4u; i++) {
    out[at + i] = u.lo[i];
    out[at + 4u + i] = u.hi[i];
  }
}
