// Weight decoding shared by the matmul kernels (formats: src/gpu/formats.ts).
// Everything decodes to f32: no shader-f16 needed. The including shader defines FORMAT (a FORMAT_* code of common/formats).

#include "common/formats.wgsl"

// FORMAT stores two 16-bit weights per u32 (f16 or bf16), or blocks with scales (q8, q4).
fn is_16bit() -> bool { return FORMAT == FORMAT_F16 || FORMAT == FORMAT_BF16; }
fn is_quantized() -> bool { return FORMAT == FORMAT_Q8 || FORMAT == FORMAT_Q4; }

// The two 16-bit weights of one u32 (low half first) as f32. A bf16 is the top half of an f32, so moving it there
// is its exact decode; f16 uses unpack2x16float.
fn unpack_16(word: u32) -> vec2<f32> {
  if (FORMAT == FORMAT_BF16) { return bitcast<vec2<f32>>(vec2<u32>(word << 16u, word & 0xffff0000u)); }
  return unpack2x16float(word);
}

// Four int8 values of one q8 word (byte i = element i): each byte, offset to unsigned by flipping its sign bit,
// is masked in place and scaled down exactly, then re-centred (masks and multiplies instead of per-lane shifts,
// which CPU adapters run lane by lane).
fn unpack_q8(word: u32) -> vec4<f32> {
  let biased = word ^ 0x80808080u; // byte b -> b + 128
  let bytes = vec4<u32>(biased, biased, biased >> 16u, biased >> 16u) & vec4<u32>(0xffu, 0xff00u, 0xffu, 0xff00u);
  return vec4<f32>(bytes) * vec4<f32>(1.0, 0x1p-8f, 1.0, 0x1p-8f) - vec4<f32>(128.0);
}

// Elements 0..3 (low nibbles first) of one q4 word, already centred: nibble - 8. Each nibble is masked in place
// and scaled down exactly (n · 16^k · 16^-k), as in unpack_q8.
fn unpack_q4_lo(word: u32) -> vec4<f32> {
  let nibbles = vec4<u32>(word) & vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u);
  return vec4<f32>(nibbles) * vec4<f32>(1.0, 0x1p-4f, 0x1p-8f, 0x1p-12f) - vec4<f32>(8.0);
}

// Elements 4..7 of one q4 word.
fn unpack_q4_hi(word: u32) -> vec4<f32> { return unpack_q4_lo(word >> 16u); }
