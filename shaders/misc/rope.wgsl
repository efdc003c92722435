// Rotary position embedding, Hugging Face rotate-half convention, in place on x [tokens, heads, headDim]:
//   x1' = x1·cos − x2·sin,  x2' = x2·cos + x1·sin,  with x1 = x[..., :rotHalf], x2 = x[..., rotHalf:2·rotHalf]
// (rotHalf = headDim / 2 for a full rotation; a partial rotary leaves dims 2·rotHalf.. as they are).
// angle = f32(startPos + t) · invFreq[i], rounded to f32 as in the f32 reference; sin/cos from common/sincos.wgsl,
// scaled by ATTN_FACTOR (LongRoPE's attention factor; 1 = none).
struct Params { tokens: u32, heads: u32, headDim: u32, startPos: u32, rotHalf: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;  // [rotHalf]
@group(0) @binding(2) var<storage, read_write> x: array<f32>;  // [tokens, heads, headDim]

override WG: u32 = 64;
override ATTN_FACTOR: f32 = 1.0;

#include "common/sincos.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = params.rotHalf;
  let i = gid.x;
  let t = gid.y;
  if (i >= half || t >= params.tokens || gid.z >= params.heads) { return; }
  let row = t * params.heads + gid.z;
  let sc = ropeSinCos(f32(params.startPos + t) * invFreq[i]);
  let base = row * params.headDim;
  let x1 = x[base + i];
  let x2 = x[base + half + i];
  x[base + i] = x1 * sc.y - x2 * sc.x;
  x[base + half + i] = x2 * sc.y + x1 * sc.x;
}
