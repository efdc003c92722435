// Eight consecutive weights of one row decoded to f32, the unit the CPU-adapter kernels dot with two x vectors.
// A 16-byte word holds 4 f32 weights (two words make a unit), 8 f16/bf16, 16 q8 (2 units) or 32 q4 (4 units).
// The including shader defines FORMAT (a FORMAT_* code of common/formats).
#include "common/quant.wgsl"

struct Weights8 { lo: vec4<f32>, hi: vec4<f32> }

// Units of 8 weights per 16-byte word (f32: per pair of words), by FORMAT code.
const UNITS_PER_WORD = array<u32, 5>(1u, 1u, 2u, 4u, 1u);

// Unit `part` (a constant below UNITS_PER_WORD) of word q (f32: words q, q2), q8/q4 times their block scale.
fn weights8(q: vec4<u32>, q2: vec4<u32>, scale: f32, part: u32) -> Weights8 {
  switch FORMAT {
    case FORMAT_F32: { return Weights8(bitcast<vec4<f32>>(q), bitcast<vec4<f32>>(q2)); }
    case FORMAT_F16, FORMAT_BF16: { return Weights8(vec4<f32>(unpack_16(q.x), unpack_16(q.y)), vec4<f32>(unpack_16(q.z), unpack_16(q.w))); }
    case FORMAT_Q8: {
      let pair = select(q.xy, q.zw, part == 1u);
      return Weights8(scale * unpack_q8(pair.x), scale * unpack_q8(pair.y));
    }
    default: { // 3u: q4
      let word = q[part];
      return Weights8(scale * unpack_q4_lo(word), scale * unpack_q4_hi(word));
    }
  }
}

fn dot8(w: Weights8, xlo: vec4<f32>, xhi: vec4<f32>) -> f32 { return dot(w.lo, xlo) + dot(w.hi, xhi); }
