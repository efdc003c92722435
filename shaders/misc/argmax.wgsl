// Greedy pick per row: out[outOffset + r] = argmax_i logits[logitsRowOffset + r, i]; ties go to the lowest index.
// A row holding NaN or +infinity gives 0xffffffff (no token), which the runtime reports as non-finite logits;
// -infinity is an ordinary (masked) logit.
#include "common/argmax_pick.wgsl"

struct Params { vocab: u32, outOffset: u32, logitsRowOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;      // [logitsRowOffset + rows, vocab]
@group(0) @binding(2) var<storage, read_write> out: array<u32>;   // [outOffset + rows] token ids

override WG: u32 = 64; // a power of two (tree reduction)

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let row = wg.x;
  let base = (params.logitsRowOffset + row) * params.vocab;
  argmax_pick_begin(lid.x);
  var bv = 0.0;
  var bi = ARGMAX_NONE;
  var bad = false;
  for (var i = lid.x; i < params.vocab; i += WG) {
    let v = logits[base + i];
    let bits = bitcast<u32>(v);
    bad = bad || ((bits & 0x7f800000u) == 0x7f800000u && bits != 0xff800000u); // NaN or +infinity (-infinity is a mask)
    if (argmax_beats(v, i, bv, bi)) { bv = v; bi = i; }
  }
  let pick = argmax_pick(lid.x, bv, bi, bad);
  if (lid.x == 0u) { out[params.outOffset + row] = pick; }
}
