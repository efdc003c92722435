// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated (common/linear_io.wgsl), with W in a GGUF block format
// (GGML, a GGML_* code of common/formats) decoded in registers (common/ggml_blocks.wgsl); nothing is expanded in memory.
// A register block, as gemv_blocked.wgsl: each invocation computes 4 consecutive outputs (the lanes of one vec4
// accumulator) for MB activation rows (grid z covers the rest). Per block of each weight row the head is loaded once,
// the sub-block scales decoded once per group of units (or per unit where units are read in shared sets), units
// that read the same bytes decoded from one load of them (ggml_shared), and every x load serves the 4 outputs: on
// SwiftShader each storage load is a per-lane gather and costs more than the arithmetic.
// A row's sum runs over K in an order fixed by the format (shared sets out of K order), the same whatever MB is and
// whichever outputs share its invocation, so a row computed in a batch is bitwise equal to the row alone. Any number
// of rows and outputs; k is whole blocks.
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [rows, k/4] f32, from x_offset/4
@group(0) @binding(2) var<storage, read> w: array<u32>;       // [n, row bytes/4]: rows of ggml blocks, back to back

override GGML: u32 = 0u;
override WG: u32 = 64u;
override MB: u32 = 1u; // activation rows per invocation, 1..MB_MAX
const MB_MAX = 8u;
const OUTPUTS = 4u;

fn wword(i: u32) -> u32 { return w[i]; }

#include "common/ggml_blocks.wgsl"

var<private> s: array<vec4<f32>, MB_MAX>; // [row] running sums of the 4 outputs

// The 4 outputs' dots with the 8 x values at x[v], x[v + 1].
fn dot4(u: array<Weights8, 4>, v: u32) -> vec4<f32> {
  let a = x[v];
  let b = x[v + 1u];
  return vec4<f32>(dot(u[0].lo, a) + dot(u[0].hi, b), dot(u[1].lo, a) + dot(u[1].hi, b), dot(u[2].lo, a) + dot(u[2].hi, b), dot(u[3].lo, a) + dot(u[3].hi, b));
}

fn accumulate(u: array<Weights8, 4>, v: u32, row_len: u32) {
  s[0] += dot4(u, v);
  if (MB > 1u) { s[1] += dot4(u, v + row_len); }
  if (MB > 2u) { s[2] += dot4(u, v + 2u * row_len); }
  if (MB > 3u) { s[3] += dot4(u, v + 3u * row_len); }
  if (MB > 4u) { s[4] += dot4(u, v + 4u * row_len); }
  if (MB > 5u) { s[5] += dot4(u, v + 5u * row_len); }
  if (MB > 6u) { s[6] += dot4(u, v + 6u * row_len); }
  if (MB > 7u) { s[7] += dot4(u, v + 7u * row_len); }
}

// Unit u of the 4 outputs' blocks (heads h), given its levels (q), accumulated.
fn unit4(h: array<Head, 4>, q: array<Weights8, 4>, u: u32, v: u32, row_len: u32) {
  let g = u / ggml_group_units();
  accumulate(array<Weights8, 4>(ggml_apply(q[0], ggml_scale(h[0], g)), ggml_apply(q[1], ggml_scale(h[1], g)),
    ggml_apply(q[2], ggml_scale(h[2], g)), ggml_apply(q[3], ggml_scale(h[3], g))), v + 2u * u, row_len);
}

// A block whose units share their loads, in sets of ggml_share() (common/ggml_blocks.wgsl).
fn shared_block(h: array<Head, 4>, b: vec4<u32>, v: u32, row_len: u32) {
  let share = ggml_share();
  for (var t = 0u; t < GGML_BLOCK_WEIGHTS[GGML] / 8u / share; t++) {
    let w0 = ggml_shared(h[0], b.x, t);
    let w1 = ggml_shared(h[1], b.y, t);
    let w2 = ggml_shared(h[2], b.z, t);
    let w3 = ggml_shared(h[3], b.w, t);
    unit4(h, array<Weights8, 4>(w0[0], w1[0], w2[0], w3[0]), ggml_shared_unit(t, 0u), v, row_len);
    unit4(h, array<Weights8, 4>(w0[1], w1[1], w2[1], w3[1]), ggml_shared_unit(t, 1u), v, row_len);
    if (share == 4u) {
      unit4(h, array<Weights8, 4>(w0[2], w1[2], w2[2], w3[2]), ggml_shared_unit(t, 2u), v, row_len);
      unit4(h, array<Weights8, 4>(w0[3], w1[3], w2[3], w3[3]), ggml_shared_unit(t, 3u), v, row_len);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n0 = OUTPUTS * (gid.x + wg.y * nwg.x * WG);
  if (n0 >= params.n) { return; }
  // rows [m0, m0 + MB): the last group starts early enough to end at `rows` and stores only rows no earlier group stored
  let m0 = min(wg.z * MB, params.rows - MB);
  let first_stored = wg.z * MB - m0;
  let row_len = params.k / 4u;
  var v = (params.x_offset + m0 * params.k) / 4u;
  let row_bytes = ggml_row_bytes(params.k);
  // outputs past n repeat the last one (computed, not stored)
  let rows = vec4<u32>(n0, min(n0 + 1u, params.n - 1u), min(n0 + 2u, params.n - 1u), min(n0 + 3u, params.n - 1u)) * row_bytes;
  let units = GGML_BLOCK_WEIGHTS[GGML] / 8u;
  let group = ggml_group_units();
  for (var at = 0u; at < row_bytes; at += GGML_BLOCK_BYTES[GGML]) {
    let b = rows + vec4<u32>(at);
    let h = array<Head, 4>(ggml_head(b.x), ggml_head(b.y), ggml_head(b.z), ggml_head(b.w));
    if (ggml_share() > 1u) {
      shared_block(h, b, v, row_len);
      v += 2u * units;
      continue;
    }
    for (var g = 0u; g < units / group; g++) {
      let m = array<vec3<f32>, 4>(ggml_scale(h[0], g), ggml_scale(h[1], g), ggml_scale(h[2], g), ggml_scale(h[3], g));
      for (var u = g * group; u < (g + 1u) * group; u++) {
        let q = array<Weights8, 4>(ggml_apply(ggml_levels(h[0], b.x, u), m[0]), ggml_apply(ggml_levels(h[1], b.y, u), m[1]),
          ggml_apply(ggml_levels(h[2], b.z, u), m[2]), ggml_apply(ggml_levels(h[3], b.w, u), m[3]));
        accumulate(q, v, row_len);
        v += 2u;
      }
    }
  }
  for (var r = first_stored; r < MB; r++) {
    for (var o = 0u; o < OUTPUTS; o++) {
      if (n0 + o < params.n) { store_output(m0 + r, n0 + o, s[r][o]); }
    }
  }
}
