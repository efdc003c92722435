// GGUF block formats decoded in registers (layouts: src/gpu/formats.ts, ggml-common.h), 8 weights (a unit) at a
// time. The including shader defines GGML (a GGML_* code of common/formats) and wword(i) -> u32, word i of the
// weight buffer (rows back to back in ggml's byte layout).
// Blocks start at even bytes; those of q4_1, q5_1 and the 144/176/84-byte K-quants at multiples of 4.
// A block is read in three steps so that nothing is loaded twice: its head (block scales, packed sub-block scales or
// fifth bits: ggml_head), per group of units sharing a scale the affine map (a, b, c) of that group (ggml_scale), and
// the levels q of the units, in sets that read the same bytes where the layout has them (ggml_shared) or one by one
// (ggml_levels); weight = a * (q + b) + c, exact as ggml's dequantization (a is a product of at most 19 bits, q + b a
// small integer). Bytes are unpacked with masks and exact power-of-two
// multiplies rather than vector shifts, which CPU adapters run lane by lane.

#include "common/formats.wgsl"

struct Weights8 { lo: vec4<f32>, hi: vec4<f32> }
// The block scale(s) (x: d; y: dmin or m) and up to 16 bytes of packed sub-block scales or fifth bits.
struct Head { d: vec2<f32>, s: vec4<u32> }

// Units sharing one (a, b, c): a block of 32, a K-quant sub-block of 32 (q4_k, q5_k) or 16 (q6_k, q2_k, q3_k).
fn ggml_group_units() -> u32 {
  switch GGML {
    case GGML_Q6_K, GGML_Q2_K, GGML_Q3_K: { return 2u; }
    default: { return 4u; }
  }
}
// IQ4_NL's 16 non-linear levels (ggml's kvalues_iq4nl: -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69,
// 89, 113) as round(p(i)): p is the minimax quartic through them, within 0.433 of each (checked in f32 by the kernel
// tests), cheaper on CPU adapters than indexing a table per lane.
fn iq4_nl_levels(i: vec4<f32>) -> vec4<f32> {
  return round(((((0.0015860428 * i + 0.031086439) * i - 1.3719270) * i + 24.173830) * i) - 126.56701);
}

// Bytes per row of `cols` weights.
fn ggml_row_bytes(cols: u32) -> u32 { return cols / GGML_BLOCK_WEIGHTS[GGML] * GGML_BLOCK_BYTES[GGML]; }

// The 8 bytes at the even byte offset o, little-endian: two loads where o is a multiple of 4, else three.
fn pair_at(o: u32) -> vec2<u32> {
  let i = o >> 2u;
  let a = wword(i);
  let b = wword(i + 1u);
  if ((o & 2u) == 0u) { return vec2<u32>(a, b); }
  let c = wword(i + 2u);
  return vec2<u32>((a >> 16u) | (b << 16u), (b >> 16u) | (c << 16u));
}

fn word_at(o: u32) -> u32 {
  if ((o & 2u) == 0u) { return wword(o >> 2u); }
  return (wword(o >> 2u) >> 16u) | (wword((o >> 2u) + 1u) << 16u);
}

// The f16 at the even byte offset o.
fn half_at(o: u32) -> f32 { return unpack2x16float(wword(o >> 2u) >> ((o & 2u) * 8u)).x; }

// Byte k (0..15) of the packed head bytes.
fn head_byte(s: vec4<u32>, k: u32) -> u32 { return (s[k >> 2u] >> ((k & 3u) * 8u)) & 0xffu; }

// The four bytes of v, each masked by the same bits of `mask` (a byte pattern repeated), times `scale`: the masked
// bytes are kept in place and scaled down exactly (byte k by 2^-8k).
fn fields4(v: u32, mask: u32, scale: f32) -> vec4<f32> {
  let lo = v & mask & 0xffffu;
  let hi = (v >> 16u) & mask & 0xffffu;
  let bytes = vec4<u32>(lo, lo, hi, hi) & vec4<u32>(0xffu, 0xff00u, 0xffu, 0xff00u);
  return vec4<f32>(bytes) * (scale * vec4<f32>(1.0, 0x1p-8f, 1.0, 0x1p-8f));
}

// 2^-e for e < 127, exactly.
fn inv_pow2(e: u32) -> f32 { return bitcast<f32>((127u - e) << 23u); }

// The 8 low (high = false) or high nibbles of two words.
fn nibbles8(p: vec2<u32>, high: bool) -> Weights8 {
  let mask = select(0x0f0f0f0fu, 0xf0f0f0f0u, high);
  let scale = select(1.0, 0.0625, high);
  return Weights8(fields4(p.x, mask, scale), fields4(p.y, mask, scale));
}

// Bit `bit` of each of 8 bytes, times lift.
fn bits8(p: vec2<u32>, bit: u32, lift: f32) -> Weights8 {
  let mask = 0x01010101u << bit;
  let scale = lift * inv_pow2(bit);
  return Weights8(fields4(p.x, mask, scale), fields4(p.y, mask, scale));
}

// Bits 2r, 2r+1 of each of 8 bytes, times lift.
fn crumbs8(p: vec2<u32>, r: u32, lift: f32) -> Weights8 {
  let mask = 0x03030303u << (2u * r);
  let scale = lift * inv_pow2(2u * r);
  return Weights8(fields4(p.x, mask, scale), fields4(p.y, mask, scale));
}

// Bits 0..7 of h (the fifth bits of 8 weights of a q5_0/q5_1 block) times 16: each nibble copied into the 4 bytes of
// a word, byte k keeping bit k, then lifted by 16 / 2^k.
fn fifth8(h: u32) -> Weights8 {
  let lift = vec4<f32>(16.0, 8.0, 4.0, 2.0);
  let lo = ((h & 15u) * 0x01010101u) & 0x08040201u;
  let hi = (((h >> 4u) & 15u) * 0x01010101u) & 0x08040201u;
  return Weights8(fields4(lo, 0xffffffffu, 1.0) * lift, fields4(hi, 0xffffffffu, 1.0) * lift);
}

fn add8(a: Weights8, b: Weights8) -> Weights8 { return Weights8(a.lo + b.lo, a.hi + b.hi); }

fn ggml_head(at: u32) -> Head {
  let i = at >> 2u;
  switch GGML {
    case GGML_Q4_K, GGML_Q5_K: { return Head(unpack2x16float(wword(i)), vec4<u32>(wword(i + 1u), wword(i + 2u), wword(i + 3u), 0u)); } // q4_k, q5_k
    case GGML_Q6_K: { return Head(vec2<f32>(half_at(at + 208u), 0.0), vec4<u32>(pair_at(at + 192u), pair_at(at + 200u))); } // q6_k
    case GGML_Q5_0: { return Head(vec2<f32>(half_at(at), 0.0), vec4<u32>(word_at(at + 2u), 0u, 0u, 0u)); } // q5_0
    case GGML_Q4_1: { return Head(unpack2x16float(wword(i)), vec4<u32>(0u)); } // q4_1
    case GGML_Q5_1: { return Head(unpack2x16float(wword(i)), vec4<u32>(wword(i + 1u), 0u, 0u, 0u)); } // q5_1
    case GGML_Q2_K: { return Head(unpack2x16float(wword(i + 20u)), vec4<u32>(wword(i), wword(i + 1u), wword(i + 2u), wword(i + 3u))); } // q2_k
    case GGML_Q3_K: { return Head(vec2<f32>(half_at(at + 108u), 0.0), vec4<u32>(word_at(at + 96u), word_at(at + 100u), word_at(at + 104u), 0u)); } // q3_k
    default: { return Head(vec2<f32>(half_at(at), 0.0), vec4<u32>(0u)); } // q8_0, q4_0, iq4_nl: f16 d first
  }
}

// (a, b, c) of unit group g: weight = a * (q + b) + c.
fn ggml_scale(h: Head, g: u32) -> vec3<f32> {
  switch GGML {
    case GGML_Q4_K, GGML_Q5_K: { // q4_k, q5_k: 6-bit scale and min of sub-block g (ggml's get_scale_min_k4)
      var sc: u32;
      var mn: u32;
      if (g < 4u) {
        sc = head_byte(h.s, g) & 63u;
        mn = head_byte(h.s, g + 4u) & 63u;
      } else {
        let packed = head_byte(h.s, g + 4u);
        sc = (packed & 15u) | ((head_byte(h.s, g - 4u) >> 6u) << 4u);
        mn = (packed >> 4u) | ((head_byte(h.s, g) >> 6u) << 4u);
      }
      return vec3<f32>(h.d.x * f32(sc), 0.0, -h.d.y * f32(mn));
    }
    case GGML_Q6_K: { return vec3<f32>(h.d.x * f32(bitcast<i32>(head_byte(h.s, g) << 24u) >> 24u), -32.0, 0.0); } // q6_k: int8 scales
    case GGML_Q4_0: { return vec3<f32>(h.d.x, -8.0, 0.0); } // q4_0
    case GGML_Q5_0: { return vec3<f32>(h.d.x, -16.0, 0.0); } // q5_0
    case GGML_Q4_1, GGML_Q5_1: { return vec3<f32>(h.d.x, 0.0, h.d.y); } // q4_1, q5_1: weight = d * q + m
    case GGML_Q2_K: { // q2_k: scale in the low, min in the high nibble
      let b = head_byte(h.s, g);
      return vec3<f32>(h.d.x * f32(b & 15u), 0.0, -h.d.y * f32(b >> 4u));
    }
    case GGML_Q3_K: { // q3_k: 6-bit scales + 32, low 4 bits in byte g (g < 8) or the high nibble of byte g - 8, high 2 in byte 8 + g % 4
      let low = (head_byte(h.s, g & 7u) >> (4u * (g >> 3u))) & 15u;
      let high = (head_byte(h.s, 8u + (g & 3u)) >> (2u * (g >> 2u))) & 3u;
      return vec3<f32>(h.d.x * (f32(low | (high << 4u)) - 32.0), -4.0, 0.0);
    }
    default: { return vec3<f32>(h.d.x, 0.0, 0.0); } // q8_0, iq4_nl
  }
}

// The levels q of unit u (weights 8u..8u+7) of the block at byte `at`, for one-off reads (the gemv reads shared sets).
fn ggml_levels(h: Head, at: u32, u: u32) -> Weights8 {
  if (ggml_share() == 4u) { return ggml_quarters(at, u >> 4u, 8u * (u & 3u))[(u >> 2u) & 3u]; }
  if (ggml_share() == 2u) { return ggml_shared(h, at, u & 1u)[u >> 1u]; }
  switch GGML {
    case GGML_Q8_0: { // q8_0: int8 q[32] after d
      let p = pair_at(at + 2u + 8u * u) ^ vec2<u32>(0x80808080u); // byte b -> b + 128
      return Weights8(fields4(p.x, 0xffffffffu, 1.0) - 128.0, fields4(p.y, 0xffffffffu, 1.0) - 128.0);
    }
    case GGML_Q4_K: { // q4_k: bytes 32c..32c+31 hold sub-block 2c in their low and 2c+1 in their high nibbles
      let j = u >> 2u;
      let i = (at + 16u + 32u * (j >> 1u) + 8u * (u & 3u)) >> 2u;
      return nibbles8(vec2<u32>(wword(i), wword(i + 1u)), (j & 1u) == 1u);
    }
    default: { // q5_k: nibbles as q4_k after qh[32]; bit j of qh[l] is sub-block j's fifth bit of its weight l
      let j = u >> 2u;
      let i = (at + 48u + 32u * (j >> 1u) + 8u * (u & 3u)) >> 2u;
      let k = (at + 16u + 8u * (u & 3u)) >> 2u;
      return add8(nibbles8(vec2<u32>(wword(i), wword(i + 1u)), (j & 1u) == 1u), bits8(vec2<u32>(wword(k), wword(k + 1u)), j, 16.0));
    }
  }
}

// q6_k: each half h of 128 weights takes ql[64h..64h+63] and qh[32h..32h+31]; its quarter r (weights 32r + l) the low
// (r < 2) or high nibbles of ql[64h + 32 (r & 1) + l] and bits 2r of qh[32h + l]. Levels of quarter r from the 8 ql
// bytes of its unit (ql) and the 8 qh bytes (qh).
fn q6_k_quarter(ql: vec2<u32>, qh: vec2<u32>, r: u32) -> Weights8 { return add8(nibbles8(ql, r >= 2u), crumbs8(qh, r, 16.0)); }

// Units decoded together because they read the same bytes (the gemv's order): 4 for the K-quants whose 256 weights are
// two halves of four quarters of 32 (q6_k, q2_k, q3_k: units 16 half + l0 / 8 + 4r, r = 0..3, from one load of each
// kind of byte), 2 for the blocks of 32 whose byte i holds weights i and 16 + i (units t and t + 2), 1 otherwise.
fn ggml_share() -> u32 {
  switch GGML {
    case GGML_Q6_K, GGML_Q2_K, GGML_Q3_K: { return 4u; }
    case GGML_Q4_0, GGML_Q5_0, GGML_Q4_1, GGML_Q5_1, GGML_IQ4_NL: { return 2u; }
    default: { return 1u; }
  }
}

// Unit i of shared set t.
fn ggml_shared_unit(t: u32, i: u32) -> u32 {
  if (ggml_share() == 4u) { return 16u * (t >> 2u) + (t & 3u) + 4u * i; }
  return t + 2u * i;
}

// The levels of the units of shared set t of the block at `at` (ggml_share() of them).
fn ggml_shared(h: Head, at: u32, t: u32) -> array<Weights8, 4> {
  if (ggml_share() == 4u) { return ggml_quarters(at, t >> 2u, 8u * (t & 3u)); }
  let none = Weights8(vec4<f32>(0.0), vec4<f32>(0.0));
  switch GGML {
    case GGML_Q5_0, GGML_Q5_1: { // q5_0, q5_1: the nibbles after qh, fifth bits from the head
      let p = pair_at(at + select(8u, 6u, GGML == GGML_Q5_0) + 8u * t);
      return array<Weights8, 4>(add8(nibbles8(p, false), fifth8(h.s.x >> (8u * t))), add8(nibbles8(p, true), fifth8(h.s.x >> (8u * t + 16u))), none, none);
    }
    case GGML_Q4_1: { // q4_1
      let p = pair_at(at + 4u + 8u * t);
      return array<Weights8, 4>(nibbles8(p, false), nibbles8(p, true), none, none);
    }
    case GGML_IQ4_NL: { // iq4_nl
      let p = pair_at(at + 2u + 8u * t);
      let lo = nibbles8(p, false);
      let hi = nibbles8(p, true);
      return array<Weights8, 4>(Weights8(iq4_nl_levels(lo.lo), iq4_nl_levels(lo.hi)), Weights8(iq4_nl_levels(hi.lo), iq4_nl_levels(hi.hi)), none, none);
    }
    default: { // q4_0
      let p = pair_at(at + 2u + 8u * t);
      return array<Weights8, 4>(nibbles8(p, false), nibbles8(p, true), none, none);
    }
  }
}

fn ggml_quarters(at: u32, half: u32, l0: u32) -> array<Weights8, 4> {
  switch GGML {
    case GGML_Q6_K: {
      let qa = pair_at(at + 64u * half + l0);
      let qb = pair_at(at + 64u * half + 32u + l0);
      let qh = pair_at(at + 128u + 32u * half + l0);
      return array<Weights8, 4>(q6_k_quarter(qa, qh, 0u), q6_k_quarter(qb, qh, 1u), q6_k_quarter(qa, qh, 2u), q6_k_quarter(qb, qh, 3u));
    }
    case GGML_Q2_K: { // q2_k: byte 32 half + l of qs (after the 16 scale bytes) holds weights 128 half + 32r + l in bits 2r
      let i = (at + 16u + 32u * half + l0) >> 2u;
      let q = vec2<u32>(wword(i), wword(i + 1u));
      return array<Weights8, 4>(crumbs8(q, 0u, 1.0), crumbs8(q, 1u, 1.0), crumbs8(q, 2u, 1.0), crumbs8(q, 3u, 1.0));
    }
    default: { // q3_k: the low 2 bits as q2_k's (qs after hmask[32]), the third bit of weight 32s + l in bit s of hmask[l]
      let q = pair_at(at + 32u + 32u * half + l0);
      let m = pair_at(at + l0);
      let b = 4u * half;
      return array<Weights8, 4>(add8(crumbs8(q, 0u, 1.0), bits8(m, b, 4.0)), add8(crumbs8(q, 1u, 1.0), bits8(m, b + 1u, 4.0)),
        add8(crumbs8(q, 2u, 1.0), bits8(m, b + 2u, 4.0)), add8(crumbs8(q, 3u, 1.0), bits8(m, b + 3u, 4.0)));
    }
  }
}

// a * (q + b) + c for the 8 levels of a unit.
fn ggml_apply(q: Weights8, m: vec3<f32>) -> Weights8 { return Weights8(m.x * (q.lo + m.y) + m.z, m.x * (q.hi + m.y) + m.z); }

// Weights 8j..8j+7 of the row starting at byte `row` (for one-off reads such as embedding lookups).
fn ggml_unit(row: u32, j: u32) -> Weights8 {
  let units = GGML_BLOCK_WEIGHTS[GGML] / 8u;
  let at = row + GGML_BLOCK_BYTES[GGML] * (j / units);
  let u = j % units;
  let h = ggml_head(at);
  return ggml_apply(ggml_levels(h, at, u), ggml_scale(h, u / ggml_group_units()));
}
