// The greedy pick from the partials of a split LM-head gemv (common/argmax_partial.wgsl): out[outOffset] = the index
// of the best partial by misc/argmax.wgsl's rule (the largest value, ties to the lowest index), or 0xffffffff (no
// token, reported as non-finite logits) when any partial saw NaN or +infinity. One workgroup.
#include "common/argmax_pick.wgsl"

struct Params { groups: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>; // [groups] (value, index as f32; -1 none, -2 non-finite)
@group(0) @binding(2) var<storage, read_write> out: array<u32>;      // [outOffset + 1] token ids

override WG: u32 = 64; // a power of two (tree reduction)

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  argmax_pick_begin(lid.x);
  var bv = 0.0;
  var bi = ARGMAX_NONE;
  var bad = false;
  for (var g = lid.x; g < params.groups; g += WG) {
    let p = partials[g];
    bad = bad || p.y == -2.0;
    let i = select(u32(p.y), ARGMAX_NONE, p.y < 0.0);
    if (argmax_beats(p.x, i, bv, bi)) { bv = p.x; bi = i; }
  }
  let pick = argmax_pick(lid.x, bv, bi, bad);
  if (lid.x == 0u) { out[params.outOffset] = pick; }
}
