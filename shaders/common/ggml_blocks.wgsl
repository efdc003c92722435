// GGUF block formats decoded in registers (layouts: src/gpu/formats.ts, ggml-common.h), 8 weights at a time.
// The including shader defines GGML (a GGML_* code of common/formats) and wword(i) -> u32, word i of the weight buffer
// (rows back to back in ggml's byte layout). Blocks other than q4_k's may start at any even byte.

#include "common/formats.wgsl"

struct Weights8 { lo: vec4<f32>, hi: vec4<f32> }

// Bytes per row of `cols` weights.
fn ggml_row_bytes(cols: u32) -> u32 { return cols / GGML_BLOCK_WEIGHTS[GGML] * GGML_BLOCK_BYTES[GGML]; }

// Four bytes starting at the even byte offset o, little-endian.
fn word_at(o: u32) -> u32 {
  let i = o >> 2u;
  if ((o & 2u) == 0u) { return wword(i); }
  return (wword(i) >> 16u) | (wword(i + 1u) << 16u);
}

// The f16 at the even byte offset o.
fn half_at(o: u32) -> f32 { return unpack2x16float(wword(o >> 2u) >> ((o & 2u) * 8u)).x; }

fn byte_at(o: u32) -> u32 { return (wword(o >> 2u) >> ((o & 3u) * 8u)) & 0xffu; }

// The four bytes of a word as signed values (each moved to the top, then shifted back with its sign).
fn int8x4(v: u32) -> vec4<f32> { return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(v) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u)); }

// The four bytes of a word as unsigned values.
fn bytes4(v: u32) -> vec4<f32> { return vec4<f32>((vec4<u32>(v) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu)); }

// q8_0: 34-byte blocks of 32, f16 d then int8 q[32]; weight = d * q.
fn q8_0_unit(row: u32, j: u32) -> Weights8 {
  let base = row + 34u * (j >> 2u);
  let at = base + 2u + 8u * (j & 3u);
  let d = half_at(base);
  return Weights8(d * int8x4(word_at(at)), d * int8x4(word_at(at + 4u)));
}

// q4_k: 144-byte blocks of 256 (4-byte aligned): f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) for 8 sub-blocks
// of 32, then 128 bytes of nibbles: bytes 32c..32c+31 hold sub-block 2c in their low and 2c+1 in their high
// nibbles. weight = d * scale * q - dmin * min.
fn q4_k_unit(row: u32, j: u32) -> Weights8 {
  let base = row + 144u * (j >> 5u);
  let u = j & 31u;
  let chunk = u >> 3u;
  let high = (u >> 2u) & 1u;
  let sub = 2u * chunk + high;
  let dm = unpack2x16float(wword(base >> 2u));
  let sb = base + 4u;
  var sc: u32;
  var mn: u32;
  if (sub < 4u) {
    sc = byte_at(sb + sub) & 63u;
    mn = byte_at(sb + sub + 4u) & 63u;
  } else {
    let packed = byte_at(sb + sub + 4u);
    sc = (packed & 15u) | ((byte_at(sb + sub - 4u) >> 6u) << 4u);
    mn = (packed >> 4u) | ((byte_at(sb + sub) >> 6u) << 4u);
  }
  let at = base + 16u + 32u * chunk + 8u * (u & 3u);
  let shift = 4u * high;
  let q_lo = bytes4((wword(at >> 2u) >> shift) & 0x0f0f0f0fu);
  let q_hi = bytes4((wword((at >> 2u) + 1u) >> shift) & 0x0f0f0f0fu);
  let scale = dm.x * f32(sc);
  let offset = vec4<f32>(dm.y * f32(mn));
  return Weights8(scale * q_lo - offset, scale * q_hi - offset);
}

// q6_k: 210-byte blocks of 256: ql[128] low nibbles, qh[64] high 2 bits, int8 scales[16] (sub-blocks of 16), f16 d.
// Each half of 128 weights uses ql[64h..], qh[32h..]; its quarter r (32 weights from l = 0..31) takes the low
// (r = 0, 1) or high (r = 2, 3) nibble of ql[l + 32 (r & 1)] and bits 2r of qh[l]; weight = d * scale * (q - 32).
fn q6_k_unit(row: u32, j: u32) -> Weights8 {
  let base = row + 210u * (j >> 5u);
  let u = j & 31u;
  let half = u >> 4u;
  let r = (u >> 2u) & 3u;
  let l0 = 8u * (u & 3u);
  let ql = base + 64u * half + 32u * (r & 1u) + l0;
  let qh = base + 128u + 32u * half + l0;
  let nib = 4u * (r >> 1u);
  let hs = 2u * r;
  let lo0 = (word_at(ql) >> nib) & 0x0f0f0f0fu;
  let lo1 = (word_at(ql + 4u) >> nib) & 0x0f0f0f0fu;
  let hi0 = ((word_at(qh) >> hs) & 0x03030303u) << 4u;
  let hi1 = ((word_at(qh + 4u) >> hs) & 0x03030303u) << 4u;
  let is = 8u * half + 2u * r + (l0 >> 4u);
  let sc = f32(bitcast<i32>(byte_at(base + 192u + is) << 24u) >> 24u);
  let scale = half_at(base + 208u) * sc;
  return Weights8(scale * (bytes4(lo0 | hi0) - vec4<f32>(32.0)), scale * (bytes4(lo1 | hi1) - vec4<f32>(32.0)));
}

// The nibbles of 8 weights at byte `at`: low nibbles (weights 0..15 of a q4_0/q5_0 block) or high (16..31).
fn nibbles8(at: u32, high: bool) -> array<vec4<f32>, 2> {
  let shift = select(0u, 4u, high);
  return array<vec4<f32>, 2>(bytes4((word_at(at) >> shift) & 0x0f0f0f0fu), bytes4((word_at(at + 4u) >> shift) & 0x0f0f0f0fu));
}

// q4_0: 18-byte blocks of 32, f16 d then qs[16]: weight i < 16 is the low nibble of qs[i], weight 16 + i its high
// nibble; weight = d * (q - 8).
fn q4_0_unit(row: u32, j: u32) -> Weights8 {
  let base = row + 18u * (j >> 2u);
  let p = j & 3u;
  let d = half_at(base);
  let q = nibbles8(base + 2u + 8u * (p & 1u), p >= 2u);
  return Weights8(d * (q[0] - vec4<f32>(8.0)), d * (q[1] - vec4<f32>(8.0)));
}

// q5_0: 22-byte blocks of 32, f16 d, u32 qh (bit i: weight i's fifth bit), qs[16] as in q4_0; weight = d * (q - 16).
fn q5_0_unit(row: u32, j: u32) -> Weights8 {
  let base = row + 22u * (j >> 2u);
  let p = j & 3u;
  let d = half_at(base);
  let h = word_at(base + 2u) >> (8u * p);
  let q = nibbles8(base + 6u + 8u * (p & 1u), p >= 2u);
  let b = vec4<u32>(0u, 1u, 2u, 3u);
  let lo = q[0] + 16.0 * vec4<f32>((vec4<u32>(h) >> b) & vec4<u32>(1u));
  let hi = q[1] + 16.0 * vec4<f32>((vec4<u32>(h >> 4u) >> b) & vec4<u32>(1u));
  return Weights8(d * (lo - vec4<f32>(16.0)), d * (hi - vec4<f32>(16.0)));
}

// Weights 8j..8j+7 of the row starting at byte `row`.
fn ggml_unit(row: u32, j: u32) -> Weights8 {
  switch GGML {
    case GGML_Q8_0: { return q8_0_unit(row, j); }
    case GGML_Q4_K: { return q4_k_unit(row, j); }
    case GGML_Q6_K: { return q6_k_unit(row, j); }
    case GGML_Q4_0: { return q4_0_unit(row, j); }
    default: { return q5_0_unit(row, j); } // GGML_Q5_0
  }
}
