// x[r, :] = softmax(x[r, :]) in place, numerically stable (max subtracted). One workgroup per row; WG
// invocations stride over the row and reduce in workgroup memory (WG = 1 on CPU adapters).
struct Params { cols: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [rows, cols]

override WG: u32 = 64u; // power of two

var<workgroup> partial: array<f32, WG>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
  }
  workgroupBarrier();
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  workgroupBarrier();
  return partial[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = (wg.x + wg.y * nwg.x) * params.cols;
  var m = -3.402823e38;
  for (var i = lid; i < params.cols; i += WG) { m = max(m, x[base + i]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var i = lid; i < params.cols; i += WG) {
    let e = exp(x[base + i] - m);
    x[base + i] = e;
    s += e;
  }
  let inv = 1.0 / reduce_sum(s, lid);
  for (var i = lid; i < params.cols; i += WG) { x[base + i] *= inv; }
}
