// The greedy pick from the partials of a split LM-head gemv (common/argmax_partial.wgsl): out[outOffset] = the index
// of the best partial by misc/argmax.wgsl's rule (the largest value, ties to the lowest index), or 0xffffffff (no
// token, reported as non-finite logits) when any partial saw NaN or +infinity. One workgroup.
#include "common/argmax_rule.wgsl"

struct Params { groups: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>; // [groups] (value, index as f32; -1 none, -2 non-finite)
@group(0) @binding(2) var<storage, read_write> out: array<u32>;      // [outOffset + 1] token ids

override WG: u32 = 64; // a power of two (tree reduction)

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;
var<workgroup> nonFinite: atomic<u32>;


@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  if (lid.x == 0u) { atomicStore(&nonFinite, 0u); }
  workgroupBarrier();
  var bv = 0.0;
  var bi = ARGMAX_NONE;
  var bad = false;
  for (var g = lid.x; g < params.groups; g += WG) {
    let p = partials[g];
    bad = bad || p.y == -2.0;
    let i = select(u32(p.y), ARGMAX_NONE, p.y < 0.0);
    if (argmax_beats(p.x, i, bv, bi)) { bv = p.x; bi = i; }
  }
  if (bad) { atomicStore(&nonFinite, 1u); }
  bestValue[lid.x] = bv;
  bestIndex[lid.x] = bi;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) {
      let v = bestValue[lid.x + stride];
      let i = bestIndex[lid.x + stride];
      if (argmax_beats(v, i, bestValue[lid.x], bestIndex[lid.x])) { bestValue[lid.x] = v; bestIndex[lid.x] = i; }
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[params.outOffset] = select(bestIndex[0], ARGMAX_NONE, atomicLoad(&nonFinite) != 0u); }
}
