// Eight consecutive weights of one row decoded to f32, the unit the CPU-adapter kernels dot with two x vectors.
// A 16-byte word holds 4 f32 weights (two words make a unit), 8 f16, 16 q8 (2 units) or 32 q4 (4 units).
// The including shader defines FORMAT (0 f32, 1 f16, 2 q8, 3 q4).
#include "common/quant.wgsl"

struct Weights8 { lo: vec4<f32>, hi: vec4<f32> }

// Units of 8 weights per 16-byte word (f32: per pair of words), by FORMAT.
const UNITS_PER_WORD = array<u32, 4>(1u, 1u, 2u, 4u);

// Unit `part` (a constant below UNITS_PER_WORD) of word q (f32: words q, q2), q8/q4 times their block scale.
fn weights8(q: vec4<u32>, q2: vec4<u32>, scale: f32, part: u32) -> Weights8 {
  switch FORMAT {
    case 0u: { return Weights8(bitcast<vec4<f32>>(q), bitcast<vec4<f32>>(q2)); }
    case 1u: { return Weights8(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w))); }
    case 2u: {
      let pair = select(q.xy, q.zw, part == 1u);
      return Weights8(scale * unpack_q8(pair.x), scale * unpack_q8(pair.y));
    }
    default: {
      let word = q[part];
      return Weights8(scale * unpack_q4_lo(word), scale * unpack_q4_hi(word));
    }
  }
}

fn dot8(w: Weights8, xlo: vec4<f32>, xhi: vec4<f32>) -> f32 { return dot(w.lo, xlo) + dot(w.hi, xhi); }
