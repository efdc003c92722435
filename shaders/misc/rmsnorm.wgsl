// y[r, :] = weight * x[r, :] / sqrt(mean(x[r, :]^2) + eps) (Hugging Face RMSNorm, all f32).
// One workgroup per row; WG invocations stride over the row and reduce in workgroup memory (WG = 4 on CPU
// adapters, where wider barrier trees cost more than they save).
struct Params { dim: u32, x_offset: u32, y_offset: u32, eps: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [rows, dim], from x_offset
@group(0) @binding(2) var<storage, read> weight: array<f32>;   // [dim]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [rows, dim], from y_offset

override WG: u32 = 64u; // power of two

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  let xb = params.x_offset + row * params.dim;
  var sum = 0.0;
  for (var i = lid; i < params.dim; i += WG) {
    let v = x[xb + i];
    sum += v * v;
  }
  partial[lid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  workgroupBarrier();
  let inv = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  let yb = params.y_offset + row * params.dim;
  for (var i = lid; i < params.dim; i += WG) { y[yb + i] = weight[i] * (x[xb + i] * inv); }
}
