// Weight decoding shared by the matmul kernels (formats: src/kernels/tensor.ts).
// Everything decodes to f32: no shader-f16 needed.

const QUANT_BLOCK = 32u;

// Four int8 values of one q8 word (byte i = element i), sign-extended by arithmetic shifts.
fn unpack_q8(word: u32) -> vec4<f32> {
  let bytes = bitcast<vec4<i32>>(vec4<u32>(word << 24u, word << 16u, word << 8u, word));
  return vec4<f32>(bytes >> vec4<u32>(24u));
}

// Elements 0..3 (low nibbles first) of one q4 word, already centred: nibble - 8.
fn unpack_q4_lo(word: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(word) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(15u)) - vec4<f32>(8.0);
}

// Elements 4..7 of one q4 word.
fn unpack_q4_hi(word: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(word) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(15u)) - vec4<f32>(8.0);
}
