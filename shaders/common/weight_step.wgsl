// One K step of 4 weight rows dotted with x, for kernels that walk rows with 16-byte loads (sparse_up_act,
// expert_gemv): a step is 8 weights for f32 (two words) and f16 (one word), 16 for q8 and 32 for q4 (one word).
// The 4 rows share the step's x loads (on CPU adapters every storage load is a per-invocation gather).
// The including shader defines FORMAT (0 f32, 1 f16, 2 q8, 3 q4), xv(v) -> vec4<f32> (x elements 4v..4v+3), and
// for weight buffer b: wq(b, i) -> vec4<u32> (its 16-byte word i) and wscale(b, j) -> f32 (its scale j, q8/q4).
#include "common/quant.wgsl"

const STEP_WEIGHTS = array<u32, 4>(8u, 8u, 16u, 32u); // by FORMAT

// Index of the first 16-byte word of step t of weight row `row` ([rows, cols] in FORMAT, cols % STEP_WEIGHTS == 0).
fn step_word(row: u32, cols: u32, t: u32) -> u32 {
  return (row * (cols / STEP_WEIGHTS[FORMAT]) + t) * select(1u, 2u, FORMAT == 0u);
}

// Index of the scale of step t of weight row `row` (q8/q4: one per 32 weights).
fn step_scale(row: u32, cols: u32, t: u32) -> u32 {
  return (row * cols + STEP_WEIGHTS[FORMAT] * t) / QUANT_BLOCK;
}

// One step of 4 rows: each row's word (f32: q and q2, its two words) and block scale (q8/q4).
struct Step4 { q: array<vec4<u32>, 4>, q2: array<vec4<u32>, 4>, scale: vec4<f32> }

// Step t of rows `rows` of weight buffer b ([.., cols] in FORMAT).
fn load_step(b: u32, rows: vec4<u32>, cols: u32, t: u32) -> Step4 {
  var s: Step4;
  let i = vec4<u32>(step_word(rows.x, cols, t), step_word(rows.y, cols, t), step_word(rows.z, cols, t), step_word(rows.w, cols, t));
  s.q = array<vec4<u32>, 4>(wq(b, i.x), wq(b, i.y), wq(b, i.z), wq(b, i.w));
  if (FORMAT == 0u) { s.q2 = array<vec4<u32>, 4>(wq(b, i.x + 1u), wq(b, i.y + 1u), wq(b, i.z + 1u), wq(b, i.w + 1u)); }
  if (FORMAT >= 2u) {
    s.scale = vec4<f32>(wscale(b, step_scale(rows.x, cols, t)), wscale(b, step_scale(rows.y, cols, t)),
                        wscale(b, step_scale(rows.z, cols, t)), wscale(b, step_scale(rows.w, cols, t)));
  }
  return s;
}

fn f16_lo(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)); }
fn f16_hi(q: vec4<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)); }

fn q8_dot(q: vec4<u32>, x: array<vec4<f32>, 8>) -> f32 {
  return (dot(unpack_q8(q.x), x[0]) + dot(unpack_q8(q.y), x[1])) + (dot(unpack_q8(q.z), x[2]) + dot(unpack_q8(q.w), x[3]));
}

fn q4_dot(q: vec4<u32>, x: array<vec4<f32>, 8>) -> f32 {
  // u32 i holds elements 8i..8i+3 (low nibbles, x vector 2i) and 8i+4..8i+7 (high nibbles, 2i + 1)
  let lo = vec4<f32>(dot(unpack_q4_lo(q.x), x[0]), dot(unpack_q4_lo(q.y), x[2]), dot(unpack_q4_lo(q.z), x[4]), dot(unpack_q4_lo(q.w), x[6]));
  let hi = vec4<f32>(dot(unpack_q4_hi(q.x), x[1]), dot(unpack_q4_hi(q.y), x[3]), dot(unpack_q4_hi(q.z), x[5]), dot(unpack_q4_hi(q.w), x[7]));
  let s = lo + hi;
  return (s.x + s.y) + (s.z + s.w);
}

// Σ weights · x over the step for each of the 4 rows; the step's x starts at vector v.
fn step_dot4(s: Step4, v: u32) -> vec4<f32> {
  var x = array<vec4<f32>, 8>();
  x[0] = xv(v);
  x[1] = xv(v + 1u);
  switch FORMAT {
    case 0u: {
      return vec4<f32>(dot(bitcast<vec4<f32>>(s.q[0]), x[0]) + dot(bitcast<vec4<f32>>(s.q2[0]), x[1]),
                       dot(bitcast<vec4<f32>>(s.q[1]), x[0]) + dot(bitcast<vec4<f32>>(s.q2[1]), x[1]),
                       dot(bitcast<vec4<f32>>(s.q[2]), x[0]) + dot(bitcast<vec4<f32>>(s.q2[2]), x[1]),
                       dot(bitcast<vec4<f32>>(s.q[3]), x[0]) + dot(bitcast<vec4<f32>>(s.q2[3]), x[1]));
    }
    case 1u: {
      return vec4<f32>(dot(f16_lo(s.q[0]), x[0]) + dot(f16_hi(s.q[0]), x[1]), dot(f16_lo(s.q[1]), x[0]) + dot(f16_hi(s.q[1]), x[1]),
                       dot(f16_lo(s.q[2]), x[0]) + dot(f16_hi(s.q[2]), x[1]), dot(f16_lo(s.q[3]), x[0]) + dot(f16_hi(s.q[3]), x[1]));
    }
    case 2u: {
      x[2] = xv(v + 2u);
      x[3] = xv(v + 3u);
      return vec4<f32>(q8_dot(s.q[0], x), q8_dot(s.q[1], x), q8_dot(s.q[2], x), q8_dot(s.q[3], x)) * s.scale;
    }
    default: {
      x[2] = xv(v + 2u);
      x[3] = xv(v + 3u);
      x[4] = xv(v + 4u);
      x[5] = xv(v + 5u);
      x[6] = xv(v + 6u);
      x[7] = xv(v + 7u);
      return vec4<f32>(q4_dot(s.q[0], x), q4_dot(s.q[1], x), q4_dot(s.q[2], x), q4_dot(s.q[3], x)) * s.scale;
    }
  }
}
