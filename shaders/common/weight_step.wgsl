// K steps over 4 weight rows at once, for the CPU-friendly kernels (gemv_blocked, sparse_up_act, expert_gemv):
// a step is one 16-byte word of each row (f32: two words), i.e. UNITS_PER_WORD units of 8 weights (weights8.wgsl).
// The including shader defines FORMAT (a FORMAT_* code of common/formats), xv(v) -> vec4<f32> (x elements 4v..4v+3),
// and for weight buffer b: wq(b, i) -> vec4<u32> (its 16-byte word i) and wscale(b, j) -> f32 (its scale j, q8/q4).
#include "common/weights8.wgsl"

const STEP_WEIGHTS = array<u32, 5>(8u, 8u, 16u, 32u, 8u); // by FORMAT code
const STEP_WORDS = array<u32, 5>(2u, 1u, 1u, 1u, 1u);      // 16-byte words per row per step, by FORMAT code

// Where 4 weight rows start in their buffer ([.., cols] in FORMAT, cols % STEP_WEIGHTS == 0): first word and
// first scale (q8/q4) of each. Computed once per row group, so steps need no division.
struct RowStarts { words: vec4<u32>, scales: vec4<u32> }

fn row_starts(rows: vec4<u32>, cols: u32) -> RowStarts {
  return RowStarts(rows * (cols / STEP_WEIGHTS[FORMAT] * STEP_WORDS[FORMAT]), rows * (cols / QUANT_BLOCK));
}

// One step of 4 rows: each row's word (f32: q and q2, its two words) and block scale (q8/q4).
struct Step4 { q: array<vec4<u32>, 4>, q2: array<vec4<u32>, 4>, scale: vec4<f32> }

// Step t of the 4 rows starting at `at` in weight buffer b.
fn load_step(b: u32, at: RowStarts, t: u32) -> Step4 {
  var s: Step4;
  let i = at.words + vec4<u32>(t * STEP_WORDS[FORMAT]);
  s.q = array<vec4<u32>, 4>(wq(b, i.x), wq(b, i.y), wq(b, i.z), wq(b, i.w));
  if (FORMAT == FORMAT_F32) { s.q2 = array<vec4<u32>, 4>(wq(b, i.x + 1u), wq(b, i.y + 1u), wq(b, i.z + 1u), wq(b, i.w + 1u)); }
  if (is_quantized()) {
    let j = at.scales + vec4<u32>((t * STEP_WEIGHTS[FORMAT]) >> 5u); // QUANT_BLOCK = 32 weights per scale
    s.scale = vec4<f32>(wscale(b, j.x), wscale(b, j.y), wscale(b, j.z), wscale(b, j.w));
  }
  return s;
}

// Unit `part` (a constant below UNITS_PER_WORD) of the step, for each of the 4 rows.
fn step_units(s: Step4, part: u32) -> array<Weights8, 4> {
  return array<Weights8, 4>(weights8(s.q[0], s.q2[0], s.scale.x, part), weights8(s.q[1], s.q2[1], s.scale.y, part),
                            weights8(s.q[2], s.q2[2], s.scale.z, part), weights8(s.q[3], s.q2[3], s.scale.w, part));
}

// The 4 rows' units dotted with x vectors v, v + 1.
fn units_dot(ws: array<Weights8, 4>, v: u32) -> vec4<f32> {
  return units_dot_x(ws, xv(v), xv(v + 1u));
}

// The 4 rows' units dotted with the 8 activations xlo, xhi.
fn units_dot_x(ws: array<Weights8, 4>, xlo: vec4<f32>, xhi: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot8(ws[0], xlo, xhi), dot8(ws[1], xlo, xhi), dot8(ws[2], xlo, xhi), dot8(ws[3], xlo, xhi));
}

// Σ weights · x over the step for each of the 4 rows; the step's x starts at vector v.
fn step_dot4(s: Step4, v: u32) -> vec4<f32> {
  var acc = units_dot(step_units(s, 0u), v);
  if (UNITS_PER_WORD[FORMAT] > 1u) { acc += units_dot(step_units(s, 1u), v + 2u); }
  if (UNITS_PER_WORD[FORMAT] > 2u) {
    acc += units_dot(step_units(s, 2u), v + 4u);
    acc += units_dot(step_units(s, 3u), v + 6u);
  }
  return acc;
}
