// y[r, :] = weight * x[r, :] / sqrt(mean(x[r, :]^2) + eps) (Hugging Face RMSNorm, all f32), or (1 + weight) * ...
// (Gemma, WEIGHT_OFFSET 1); ACCUMULATE adds the result into y (Gemma's post-norms: x += norm(block output)).
// One workgroup per row; WG invocations stride over the row and reduce in workgroup memory (WG = 4 on CPU
// adapters, where wider barrier trees cost more than they save).
struct Params { dim: u32, x_offset: u32, y_offset: u32, eps: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // [rows, dim], from x_offset
@group(0) @binding(2) var<storage, read> weight: array<f32>;   // [dim]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [rows, dim], from y_offset

override WG: u32 = 64u; // power of two
override ACCUMULATE: bool = false;

#include "common/rms_row.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  let xb = params.x_offset + row * params.dim;
  var sum = 0.0;
  for (var i = lid; i < params.dim; i += WG) {
    let v = x[xb + i];
    sum += v * v;
  }
  let inv = inv_rms(lid, sum, params.dim, params.eps);
  let yb = params.y_offset + row * params.dim;
  for (var i = lid; i < params.dim; i += WG) {
    let v = norm_weight(weight[i]) * (x[xb + i] * inv);
    if (ACCUMULATE) { y[yb + i] += v; } else { y[yb + i] = v; }
  }
}
