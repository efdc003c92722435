// Paired outputs of the stacked q/k/v projection with RoPE and the KV append in its epilogue (substituted for
// common/linear_pairs.wgsl): the bits attention/rope_kv_write.wgsl writes after the split-output gemv, in one dispatch.
//   y[m, h, d]                 = rope(q[m, h])[d]                 columns [0, SPLIT_A)
//   gate[h, slot, d]           = rope(k[m, h])[d]  (the k cache)  columns [SPLIT_A, SPLIT_A + SPLIT_B)
//   y3[h, slot, d]             = v[m, h, d]        (the v cache)  the rest
// with slot = cache_slot(start_pos + m, cache_slots) (a ring cache wraps). RoPE rotates dims (i, ROT_HALF + i) of a
// head together, so outputs are paired by permuting rows within each q and k head: outputs 2i and 2i + 1 read W's
// rows i and ROT_HALF + i for i < ROT_HALF (ROT_HALF 0: NoPE, nothing rotates); other dims, and v, keep their rows
// and pair with their neighbour. HEAD_DIM is even, so pairs never straddle a head or a part.
#include "common/sincos.wgsl"
#include "common/attention_window.wgsl"

@group(0) @binding(9) var<storage, read> inv_freq: array<f32>; // [ROT_HALF] the rotation's inverse frequencies

override PAIRED: bool = true;
override HEAD_DIM: u32 = 64u;
override ROT_HALF: u32 = 32u;    // rotated pairs per head (HEAD_DIM / 2; less for a partial rotary, 0 for NoPE)
override ATTN_FACTOR: f32 = 1.0; // LongRoPE's attention factor (common/sincos.wgsl)

// Output n's place in its part: the part's first column, the head's first column in it and the dim within the head.
struct Place { part: u32, head: u32, dim: u32 }

fn place(n: u32) -> Place {
  var part = 0u;
  if (n >= SPLIT_A + SPLIT_B) { part = SPLIT_A + SPLIT_B; } else if (n >= SPLIT_A) { part = SPLIT_A; }
  let dim = (n - part) % HEAD_DIM;
  return Place(part, n - part - dim, dim);
}

// The W row of output n: within q and k heads, outputs 2i, 2i + 1 (i < ROT_HALF) read rows i and ROT_HALF + i.
fn weight_row(n: u32) -> u32 {
  let p = place(n);
  let i = p.dim / 2u;
  if (p.part == SPLIT_A + SPLIT_B || i >= ROT_HALF) { return n; }
  return p.part + p.head + i + (p.dim % 2u) * ROT_HALF;
}

fn rotate(x1: f32, x2: f32, sc: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x1 * sc.y - x2 * sc.x, x2 * sc.y + x1 * sc.x);
}

// outputs n (even) and n + 1 of activation row m, before bias: a pair of dims of one q, k or v head.
fn store_pair(m: u32, n: u32, a: f32, b: f32) {
  var r = vec2<f32>(a, b);
  if (params.has_bias != 0u) { r += vec2<f32>(bias[weight_row(n)], bias[weight_row(n + 1u)]); }
  let p = place(n);
  let pos = params.start_pos + m;
  let i = p.dim / 2u;
  var d = vec2<u32>(p.dim, p.dim + 1u);
  if (p.part != SPLIT_A + SPLIT_B && i < ROT_HALF) {
    d = vec2<u32>(i, ROT_HALF + i);
    r = rotate(r.x, r.y, ropeSinCos(f32(pos) * inv_freq[i]));
  }
  if (p.part == 0u) {
    let base = m * SPLIT_A + p.head;
    y[base + d.x] = r.x;
    y[base + d.y] = r.y;
    return;
  }
  let base = ((p.head / HEAD_DIM) * params.cache_slots + cache_slot(pos, params.cache_slots)) * HEAD_DIM;
  if (p.part == SPLIT_A) {
    gate[base + d.x] = r.x;
    gate[base + d.y] = r.y;
  } else {
    y3[base + d.x] = r.x;
    y3[base + d.y] = r.y;
  }
}
