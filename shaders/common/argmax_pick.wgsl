// A workgroup's greedy pick from every invocation's best candidate (bv, bi) by argmax_beats, in a fixed tree over
// WG invocations (a power of two: the including shader's `override WG`). argmax_pick_begin clears the non-finite
// flag before any invocation reports; argmax_pick's result (for invocation 0) is the best index, or ARGMAX_NONE
// when any invocation saw NaN or +infinity.
#include "common/argmax_rule.wgsl"

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;
var<workgroup> nonFinite: atomic<u32>;

fn argmax_pick_begin(lid: u32) {
  if (lid == 0u) { atomicStore(&nonFinite, 0u); }
  workgroupBarrier();
}

fn argmax_pick(lid: u32, bv: f32, bi: u32, bad: bool) -> u32 {
  if (bad) { atomicStore(&nonFinite, 1u); }
  bestValue[lid] = bv;
  bestIndex[lid] = bi;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let v = bestValue[lid + stride];
      let i = bestIndex[lid + stride];
      if (argmax_beats(v, i, bestValue[lid], bestIndex[lid])) { bestValue[lid] = v; bestIndex[lid] = i; }
    }
    workgroupBarrier();
  }
  return select(bestIndex[0], ARGMAX_NONE, atomicLoad(&nonFinite) != 0u);
}
