// One K step of a weight row dotted with x, for kernels that walk a row with 16-byte loads (sparse_up_act,
// expert_gemv): a step is 8 weights for f32 (two words) and f16 (one word), 16 for q8 and 32 for q4 (one word).
// The including shader defines FORMAT (0 f32, 1 f16, 2 q8, 3 q4) and xv(v) -> vec4<f32>: x elements 4v..4v+3.
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

// Σ weights of the step · x[4v..]: q is the step's word (f32: q and q2 its two words), scale its block scale (q8/q4).
fn step_dot(q: vec4<u32>, q2: vec4<u32>, scale: f32, v: u32) -> f32 {
  switch FORMAT {
    case 0u: { return dot(bitcast<vec4<f32>>(q), xv(v)) + dot(bitcast<vec4<f32>>(q2), xv(v + 1u)); }
    case 1u: {
      return dot(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), xv(v)) + dot(vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)), xv(v + 1u));
    }
    case 2u: {
      return ((dot(unpack_q8(q.x), xv(v)) + dot(unpack_q8(q.y), xv(v + 1u))) + (dot(unpack_q8(q.z), xv(v + 2u)) + dot(unpack_q8(q.w), xv(v + 3u)))) * scale;
    }
    default: {
      // word i holds elements 8i..8i+3 (low nibbles, x vector v + 2i) and 8i+4..8i+7 (high nibbles, v + 2i + 1)
      let lo = vec4<f32>(dot(unpack_q4_lo(q.x), xv(v)), dot(unpack_q4_lo(q.y), xv(v + 2u)), dot(unpack_q4_lo(q.z), xv(v + 4u)), dot(unpack_q4_lo(q.w), xv(v + 6u)));
      let hi = vec4<f32>(dot(unpack_q4_hi(q.x), xv(v + 1u)), dot(unpack_q4_hi(q.y), xv(v + 3u)), dot(unpack_q4_hi(q.z), xv(v + 5u)), dot(unpack_q4_hi(q.w), xv(v + 7u)));
      let s = lo + hi;
      return ((s.x + s.y) + (s.z + s.w)) * scale;
    }
  }
}
