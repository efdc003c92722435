// Residual add: out[i] = a[i] + b[i]. In-place use (out = a) is not allowed by WebGPU aliasing rules;
// the forward pass adds into the residual stream with `a` bound as `out`'s twin buffer.
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> b: array<f32>;         // [n]
@group(0) @binding(2) var<storage, read_write> acc: array<f32>; // [n], acc += b

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < params.n) { acc[i] = acc[i] + b[i]; }
}
