// The register-blocked gemv's rows (matmul/gemv_blocked.wgsl, attention/qkv_decode.wgsl): dot_outputs(n0) leaves
// in s[r] the 4 outputs n0..n0 + 3 of each of the MB activation rows from x_row0 (x_row_len vectors each), norm_prologue
// run first under NORM. Each output's sum depends only on its weight row and activation row, never on which outputs
// share the invocation or how many rows the dispatch holds.
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;  // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;  // [n, k] in FORMAT, 16-byte words: f32 bits [n, k/4] | f16 pairs [n, k/8] | q8 [n, k/16] | q4 [n, k/32]

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override WG: u32 = 64u;
override MB: u32 = 1u;     // activation rows per invocation, 1..MB_MAX (grid z covers the rest)
const MB_MAX = 16u;       // src/kernels/linear.ts BLOCKED_MAX_ROWS_PER_INVOCATION
const OUTPUTS = 4u;        // outputs per invocation: the lanes of a vec4

var<private> x_row0: u32; // index in x (vec4s) of element 0 of the first activation row handled here
var<private> x_row_len: u32; // x vectors per activation row (k / 4)
var<private> s: array<vec4<f32>, MB_MAX>; // [row] running sums of the 4 outputs

#include "common/norm_prologue.wgsl"
#include "common/argmax_partial.wgsl"

fn xv(v: u32) -> vec4<f32> { return x[x_row0 + v]; }
// x vectors v, v + 1 of activation row r (a constant), normalised under NORM.
fn xr(r: u32, v: u32) -> vec4<f32> { return normed(xv(r * x_row_len + v), r, v); }
fn wq(b: u32, i: u32) -> vec4<u32> { return w[i]; }
fn wscale(b: u32, j: u32) -> f32 { return scales[j]; }

#include "common/weight_step.wgsl"

// s[r] += unit j (weights 8j..8j+7) of the 4 outputs dotted with activation row r, for each of the MB rows
// (constant indices keep s in registers).
fn accumulate(ws: array<Weights8, 4>, j: u32) {
  let v = 2u * j;
  s[0] += units_dot_x(ws, xr(0u, v), xr(0u, v + 1u));
  if (MB > 1u) { s[1] += units_dot_x(ws, xr(1u, v), xr(1u, v + 1u)); }
  if (MB > 2u) { s[2] += units_dot_x(ws, xr(2u, v), xr(2u, v + 1u)); }
  if (MB > 3u) { s[3] += units_dot_x(ws, xr(3u, v), xr(3u, v + 1u)); }
  if (MB > 4u) { s[4] += units_dot_x(ws, xr(4u, v), xr(4u, v + 1u)); }
  if (MB > 5u) { s[5] += units_dot_x(ws, xr(5u, v), xr(5u, v + 1u)); }
  if (MB > 6u) { s[6] += units_dot_x(ws, xr(6u, v), xr(6u, v + 1u)); }
  if (MB > 7u) { s[7] += units_dot_x(ws, xr(7u, v), xr(7u, v + 1u)); }
  if (MB > 8u) { s[8] += units_dot_x(ws, xr(8u, v), xr(8u, v + 1u)); }
  if (MB > 9u) { s[9] += units_dot_x(ws, xr(9u, v), xr(9u, v + 1u)); }
  if (MB > 10u) { s[10] += units_dot_x(ws, xr(10u, v), xr(10u, v + 1u)); }
  if (MB > 11u) { s[11] += units_dot_x(ws, xr(11u, v), xr(11u, v + 1u)); }
  if (MB > 12u) { s[12] += units_dot_x(ws, xr(12u, v), xr(12u, v + 1u)); }
  if (MB > 13u) { s[13] += units_dot_x(ws, xr(13u, v), xr(13u, v + 1u)); }
  if (MB > 14u) { s[14] += units_dot_x(ws, xr(14u, v), xr(14u, v + 1u)); }
  if (MB > 15u) { s[15] += units_dot_x(ws, xr(15u, v), xr(15u, v + 1u)); }
}

// s = the 4 outputs from n0 (outputs past n read the last row; their sums are not stored)
fn dot_outputs(n0: u32) {
  let outs = min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
  let rows = vec4<u32>(weight_row(outs.x), weight_row(outs.y), weight_row(outs.z), weight_row(outs.w));
  let at = row_starts(rows, params.k);
  let units = UNITS_PER_WORD[FORMAT];
  for (var t = 0u; t < params.k / STEP_WEIGHTS[FORMAT]; t++) {
    let st = load_step(0u, at, t);
    accumulate(step_units(st, 0u), units * t);
    if (units > 1u) { accumulate(step_units(st, 1u), units * t + 1u); }
    if (units > 2u) {
      accumulate(step_units(st, 2u), units * t + 2u);
      accumulate(step_units(st, 3u), units * t + 3u);
    }
  }
}
