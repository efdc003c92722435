// Final-logit soft-capping in place: x[offset + i] = tanh(x[offset + i] / cap) · cap for i < n (common/softcap.wgsl).
#include "common/softcap.wgsl"

struct Params { n: u32, offset: u32, cap: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [offset + n]

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < params.n) { x[params.offset + i] = softcap(x[params.offset + i], params.cap); }
}
