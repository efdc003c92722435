// Prefill attention, flash style, for head sizes up to 128: each invocation owns one (query row, head), keeps
// the row's q and its output accumulator in registers and streams the row's keys 0..startPos + t once with an
// online softmax (common/head_registers.wgsl). Per key that is one pass over k and one over v (16-byte loads)
// and no other memory traffic: 2x the speed of streaming the output through `out` on CPU adapters
// (flash_large_head.wgsl, the kernel for larger heads). No workgroup memory.
struct Params { tokens: u32, startPos: u32, kvGroup: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;           // [tokens, heads, HEAD_DIM / 4]
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]
@group(0) @binding(3) var<storage, read> vCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;   // [tokens, heads, HEAD_DIM / 4]

override WG: u32 = 16;               // query rows per workgroup
override HEAD_DIM: u32;              // a multiple of 4, at most 128
override SCALE: f32;
override LANES: u32 = HEAD_DIM / 4u; // vec4s per head

#include "common/head_registers.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x;
  if (t >= params.tokens) { return; }
  let heads = nwg.y;
  let h = gid.y;
  let kvBase = (h / params.kvGroup) * params.maxSeq * LANES;
  let qBase = (t * heads + h) * LANES;
  start_row(qBase);
  let keyEnd = params.startPos + t + 1u;
  for (var key = 0u; key < keyEnd; key++) { fold_key(kvBase + key * LANES); }
  store_o(qBase, l);
}
