// Greedy pick per row: out[outOffset + r] = argmax_i logits[logitsRowOffset + r, i]; ties go to the lowest index.
// A row holding NaN or +infinity gives 0xffffffff (no token), which the runtime reports as non-finite logits;
// -infinity is an ordinary (masked) logit.
#include "common/argmax_rule.wgsl"

struct Params { vocab: u32, outOffset: u32, logitsRowOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;      // [logitsRowOffset + rows, vocab]
@group(0) @binding(2) var<storage, read_write> out: array<u32>;   // [outOffset + rows] token ids

override WG: u32 = 64; // a power of two (tree reduction)

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;
var<workgroup> nonFinite: atomic<u32>;


@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let row = wg.x;
  let base = (params.logitsRowOffset + row) * params.vocab;
  if (lid.x == 0u) { atomicStore(&nonFinite, 0u); }
  workgroupBarrier();
  var bv = 0.0;
  var bi = ARGMAX_NONE;
  var bad = false;
  for (var i = lid.x; i < params.vocab; i += WG) {
    let v = logits[base + i];
    let bits = bitcast<u32>(v);
    bad = bad || ((bits & 0x7f800000u) == 0x7f800000u && bits != 0xff800000u); // NaN or +infinity (-infinity is a mask)
    if (argmax_beats(v, i, bv, bi)) { bv = v; bi = i; }
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
  if (lid.x == 0u) { out[params.outOffset + row] = select(bestIndex[0], ARGMAX_NONE, atomicLoad(&nonFinite) != 0u); }
}
