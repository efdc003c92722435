// Tree reductions of one f32 per invocation over a workgroup of WG invocations (WG: a power of two, the
// including shader's workgroup size), through workgroup memory; every invocation gets the result. The
// summation order depends only on WG, so a reduction gives the same bits wherever it runs.
var<workgroup> reduce_scratch: array<f32, WG>;

fn workgroup_max(lid: u32, x: f32) -> f32 {
  reduce_scratch[lid] = x;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { reduce_scratch[lid] = max(reduce_scratch[lid], reduce_scratch[lid + stride]); }
  }
  let r = workgroupUniformLoad(&reduce_scratch[0]);
  workgroupBarrier(); // the next reduction's writes must not overtake this read
  return r;
}

fn workgroup_sum(lid: u32, x: f32) -> f32 {
  reduce_scratch[lid] = x;
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { reduce_scratch[lid] = reduce_scratch[lid] + reduce_scratch[lid + stride]; }
  }
  let r = workgroupUniformLoad(&reduce_scratch[0]);
  workgroupBarrier();
  return r;
}
