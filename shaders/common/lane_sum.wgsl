// The sum of a per-invocation partial over the LANES invocations that share a row (consecutive local ids, LANES a
// power of two dividing WG), in a fixed tree order: the invocation of lane 0 gets the row's sum. The including
// shader declares `alias LaneSum = <an f32 vector or matrix type>;` and `var<workgroup> partial: array<LaneSum, WG>;`.
fn lane_sum(lid: u32, lane: u32, acc: LaneSum) -> LaneSum {
  if (LANES == 1u) { return acc; }
  partial[lid] = acc;
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) { partial[lid] += partial[lid + stride]; }
  }
  workgroupBarrier();
  return partial[lid];
}
