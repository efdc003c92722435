// The attention block's RoPE and cache append in one dispatch (decode runs it once per layer):
//   q[t, h]                    = rope(q[t, h])        in place, h < heads
//   kCache[h, slot]            = rope(k[t, h])        h < kvHeads
//   vCache[h, slot]            = v[t, h]              slot = startPos + t, mod maxSeq in a ring cache
// with the rotation of misc/rope.wgsl (same operations, so the same bits as rope then kv_write). A partial rotary
// (ROT_HALF < HEAD_DIM / 2) rotates pairs (i, i + ROT_HALF) for i < ROT_HALF and copies k's other dims as they are.
// Grid: x = i < HEAD_DIM / 2, y = tokens; invocation i < ROT_HALF computes its pair's angle once and rotates that
// pair in every query and key head; each invocation i copies v's dims i and HEAD_DIM / 2 + i and, past ROT_HALF,
// k's pass-through dims 2i and 2i + 1.
#include "common/sincos.wgsl"
#include "common/attention_window.wgsl"

struct Params { tokens: u32, heads: u32, kvHeads: u32, startPos: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;       // [ROT_HALF]
@group(0) @binding(2) var<storage, read_write> q: array<f32>;       // [tokens, heads, HEAD_DIM]
@group(0) @binding(3) var<storage, read> k: array<f32>;             // [tokens, kvHeads, HEAD_DIM]
@group(0) @binding(4) var<storage, read> v: array<f32>;             // [tokens, kvHeads, HEAD_DIM]
@group(0) @binding(5) var<storage, read_write> kCache: array<f32>;  // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(6) var<storage, read_write> vCache: array<f32>;  // [kvHeads, maxSeq, HEAD_DIM]

override WG: u32 = 64;
override HEAD_DIM: u32;
override ROT_HALF: u32 = HEAD_DIM / 2u; // rotated pairs per head
override ATTN_FACTOR: f32 = 1.0;

// (x1, x2) rotated by the angle whose (sin, cos) is sc
fn rotate(x1: f32, x2: f32, sc: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x1 * sc.y - x2 * sc.x, x2 * sc.y + x1 * sc.x);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = HEAD_DIM / 2u;
  let i = gid.x;
  let t = gid.y;
  if (i >= half || t >= params.tokens) { return; }
  let slot = cache_slot(params.startPos + t, params.maxSeq);
  let rotated = i < ROT_HALF;
  var sc = vec2<f32>(0.0, 1.0);
  if (rotated) {
    sc = ropeSinCos(f32(params.startPos + t) * invFreq[i]);
    for (var h = 0u; h < params.heads; h++) {
      let base = (t * params.heads + h) * HEAD_DIM;
      let r = rotate(q[base + i], q[base + ROT_HALF + i], sc);
      q[base + i] = r.x;
      q[base + ROT_HALF + i] = r.y;
    }
  }
  for (var h = 0u; h < params.kvHeads; h++) {
    let src = (t * params.kvHeads + h) * HEAD_DIM;
    let dst = (h * params.maxSeq + slot) * HEAD_DIM;
    if (rotated) {
      let r = rotate(k[src + i], k[src + ROT_HALF + i], sc);
      kCache[dst + i] = r.x;
      kCache[dst + ROT_HALF + i] = r.y;
    } else {
      kCache[dst + 2u * i] = k[src + 2u * i];
      kCache[dst + 2u * i + 1u] = k[src + 2u * i + 1u];
    }
    vCache[dst + i] = v[src + i];
    vCache[dst + half + i] = v[src + half + i];
  }
}
