// dst[i] = src[i], 16 bytes per invocation: the bandwidth yardstick for the matmul kernels (bench/kernels.ts).
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;       // [n] 16-byte words
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>; // [n]

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < params.n) { dst[i] = src[i]; }
}
