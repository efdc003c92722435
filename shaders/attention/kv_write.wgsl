// Append new keys and values to one layer's KV cache: cache[h, slot(startPos + t), d] = src[t, h, d], the slot of
// a position being the position itself in a full cache and the position mod maxSeq in a ring.
#include "common/attention_window.wgsl"

struct Params { tokens: u32, startPos: u32, kvHeads: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> k: array<f32>;             // [tokens, kvHeads, headDim]
@group(0) @binding(2) var<storage, read> v: array<f32>;             // [tokens, kvHeads, headDim]
@group(0) @binding(3) var<storage, read_write> kCache: array<f32>;  // [kvHeads, maxSeq, headDim]
@group(0) @binding(4) var<storage, read_write> vCache: array<f32>;  // [kvHeads, maxSeq, headDim]

override WG: u32 = 64;
override HEAD_DIM: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let t = gid.y;
  let h = gid.z;
  if (d >= HEAD_DIM || t >= params.tokens || h >= params.kvHeads) { return; }
  let src = (t * params.kvHeads + h) * HEAD_DIM + d;
  let dst = (h * params.maxSeq + cache_slot(params.startPos + t, params.maxSeq)) * HEAD_DIM + d;
  kCache[dst] = k[src];
  vCache[dst] = v[src];
}
