// The greedy pick split over a gemv's workgroups (ARGMAX; the LM head of greedy decode, one activation row): instead
// of storing its outputs, each workgroup stores the (value, index) of its largest output into y as a partial
// [2] f32 at slot params.y_stride + group: the value and the index as f32 (exact below 2^24), -1 for no output,
// -2 when one of its outputs is NaN or +infinity. misc/argmax_partials.wgsl picks the token from the partials with
// misc/argmax.wgsl's rule (the largest value, ties to the lowest index; a non-finite logit gives no token), so the
// token is the one argmax over the stored logits gives. Output n is vocabulary entry params.y_offset + n (a row
// piece of a split LM head). The includer defines WG and the y binding; every invocation calls argmax_partial.
override ARGMAX: bool = false;

#include "common/argmax_rule.wgsl"

const ARGMAX_BAD: u32 = 0xfffffffeu;

var<workgroup> argmax_values: array<f32, WG>;
var<workgroup> argmax_indices: array<u32, WG>;

fn argmax_finite(v: f32) -> bool {
  let bits = bitcast<u32>(v);
  return (bits & 0x7f800000u) != 0x7f800000u || bits == 0xff800000u; // -infinity is a mask, not an error
}

// The invocation's best output (v at output n, ARGMAX_NONE for none) as store_output would have stored it.
fn argmax_candidate(n: u32, dot: f32) -> vec2<u32> {
  var v = dot;
  if (params.has_bias != 0u) { v += bias[n]; }
  if (!argmax_finite(v)) { return vec2<u32>(0u, ARGMAX_BAD); }
  return vec2<u32>(bitcast<u32>(v), params.y_offset + n);
}

// Folds candidate c into best b (either may be bad).
fn argmax_fold(b: vec2<u32>, c: vec2<u32>) -> vec2<u32> {
  if (b.y == ARGMAX_BAD || c.y == ARGMAX_BAD) { return vec2<u32>(0u, ARGMAX_BAD); }
  if (argmax_beats(bitcast<f32>(c.x), c.y, bitcast<f32>(b.x), b.y)) { return c; }
  return b;
}

// Invocation lid's best, then invocation 0 folds those of invocations 0, stride, 2·stride, ... (count of them)
// in order and stores the group's partial (groups past the last output store nothing).
fn argmax_partial(lid: u32, group: u32, first_output: u32, best: vec2<u32>, count: u32, stride: u32) {
  argmax_values[lid] = bitcast<f32>(best.x);
  argmax_indices[lid] = best.y;
  workgroupBarrier();
  if (lid != 0u || first_output >= params.n) { return; }
  var b = vec2<u32>(0u, ARGMAX_NONE);
  for (var j = 0u; j < count; j++) { b = argmax_fold(b, vec2<u32>(bitcast<u32>(argmax_values[j * stride]), argmax_indices[j * stride])); }
  let slot = 2u * (params.y_stride + group);
  y[slot] = bitcast<f32>(b.x);
  y[slot + 1u] = select(select(f32(b.y), -1.0, b.y == ARGMAX_NONE), -2.0, b.y == ARGMAX_BAD);
}
