// x[r, :] = softmax(x[r, :]) in place, numerically stable (max subtracted). One workgroup per row; WG
// invocations stride over the row and reduce in workgroup memory (WG = 4 on CPU adapters).
struct Params { cols: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [rows, cols]

override WG: u32 = 64u; // power of two

#include "common/workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = (wg.x + wg.y * nwg.x) * params.cols;
  var m = -3.402823e38;
  for (var i = lid; i < params.cols; i += WG) { m = max(m, x[base + i]); }
  m = workgroup_max(lid, m);
  var s = 0.0;
  for (var i = lid; i < params.cols; i += WG) {
    let e = exp(x[base + i] - m);
    x[base + i] = e;
    s += e;
  }
  let inv = 1.0 / workgroup_sum(lid, s);
  for (var i = lid; i < params.cols; i += WG) { x[base + i] *= inv; }
}
