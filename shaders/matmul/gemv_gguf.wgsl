// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated (common/linear_io.wgsl), with W in a GGUF block format (GGML, a
// GGML_* code of common/formats) decoded 8 weights at a time in registers (common/ggml_blocks.wgsl); nothing is expanded in memory.
// One invocation per output n and MB activation rows (grid z covers the rest): each decoded unit serves the MB rows,
// whose accumulators are indexed by constants so they stay in registers. A row's sum runs over K in the same order
// whatever MB is, so a row computed in a batch is bitwise equal to the row alone. Any number of rows; k is whole blocks.
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<u32>;       // [n, row bytes/4]: rows of ggml blocks, back to back

override GGML: u32 = 0u;
override WG: u32 = 64u;
override MB: u32 = 1u; // activation rows per invocation, 1..MB_MAX
const MB_MAX = 8u;

fn wword(i: u32) -> u32 { return w[i]; }

#include "common/ggml_blocks.wgsl"

var<private> s: array<f32, MB_MAX>; // [row] running sums

fn dot8(u: Weights8, v: u32) -> f32 { return dot(u.lo, x[v]) + dot(u.hi, x[v + 1u]); }

fn accumulate(u: Weights8, v: u32, row_len: u32) {
  s[0] += dot8(u, v);
  if (MB > 1u) { s[1] += dot8(u, v + row_len); }
  if (MB > 2u) { s[2] += dot8(u, v + 2u * row_len); }
  if (MB > 3u) { s[3] += dot8(u, v + 3u * row_len); }
  if (MB > 4u) { s[4] += dot8(u, v + 4u * row_len); }
  if (MB > 5u) { s[5] += dot8(u, v + 5u * row_len); }
  if (MB > 6u) { s[6] += dot8(u, v + 6u * row_len); }
  if (MB > 7u) { s[7] += dot8(u, v + 7u * row_len); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = gid.x + wg.y * nwg.x * WG;
  if (n >= params.n) { return; }
  // rows [m0, m0 + MB): the last group starts early enough to end at `rows` and stores only rows no earlier group stored
  let m0 = min(wg.z * MB, params.rows - MB);
  let first_stored = wg.z * MB - m0;
  let row_len = params.k / 4u;
  let x0 = (params.x_offset + m0 * params.k) / 4u;
  let row = n * ggml_row_bytes(params.k);
  for (var j = 0u; j < params.k / 8u; j++) {
    accumulate(ggml_unit(row, j), x0 + 2u * j, row_len);
  }
  for (var r = first_stored; r < MB; r++) { store_output(m0 + r, n, s[r]); }
}
