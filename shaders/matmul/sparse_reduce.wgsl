// Activation-sparse MLP, step 4: y (+)= Σ_s partial[s] over the chunks of live neurons that spmv_active
// filled (ceil(count / chunk)), added in chunk order: deterministic.
struct Params { n: u32, chunk: u32, accumulate: u32, y_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> live: array<u32>;       // [2 + 2 * neurons] u32: live[0] = live count
@group(0) @binding(2) var<storage, read> partial: array<f32>;    // [chunks, n] f32 per-chunk sums
@group(0) @binding(3) var<storage, read_write> y: array<f32>;    // [n] f32, from y_offset

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= params.n) { return; }
  let chunks = (live[0] + params.chunk - 1u) / params.chunk;
  var v = 0.0;
  for (var s = 0u; s < chunks; s++) { v += partial[s * params.n + c]; }
  let at = params.y_offset + c;
  if (params.accumulate != 0u) { v += y[at]; }
  y[at] = v;
}
