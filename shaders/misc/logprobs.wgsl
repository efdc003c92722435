// Log-probabilities of one row (one workgroup): log-softmax of logits row `row` at the chosen token
// tokens[tokenIndex], and the top `top` entries in (value descending, index ascending) order.
// out[outOffset..] = [bits(logprob of chosen), id_0, bits(logprob_0), ..., id_{top-1}, bits(logprob_{top-1})].
// Each top entry is one argmax pass over the row restricted to entries ordered after the previous one, so no
// list of picked entries is kept.
struct Params { vocab: u32, row: u32, tokenIndex: u32, top: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;     // [rows, vocab]
@group(0) @binding(2) var<storage, read> tokens: array<u32>;     // [tokenCapacity] chosen token ids
@group(0) @binding(3) var<storage, read_write> out: array<u32>;  // [slots, 1 + 2 * maxTop]

override WG: u32 = 64; // a power of two (tree reductions)

#include "common/workgroup_reduce.wgsl"

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

const NONE: u32 = 0xffffffffu;

// (v, i) comes after (pv, pi) in the order (value descending, index ascending)
fn after(v: f32, i: u32, pv: f32, pi: u32) -> bool {
  return pi == NONE || v < pv || (v == pv && i > pi);
}

fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>) {
  let lid = lidv.x;
  let base = params.row * params.vocab;
  var m = -0x1.fffffep+127f; // lowest finite f32
  for (var i = lid; i < params.vocab; i += WG) { m = max(m, logits[base + i]); }
  m = workgroup_max(lid, m);
  // compensated (Kahan) sum: each invocation adds vocab / WG terms, up to ~38k at 150k vocabulary and width 4
  var s = 0.0;
  var c = 0.0;
  for (var i = lid; i < params.vocab; i += WG) {
    let y = exp(logits[base + i] - m) - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  let logZ = m + log(workgroup_sum(lid, s));
  if (lid == 0u) { out[params.outOffset] = bitcast<u32>(logits[base + tokens[params.tokenIndex]] - logZ); }
  var pv = 0.0;
  var pi = NONE;
  for (var k = 0u; k < params.top; k++) {
    var bv = 0.0;
    var bi = NONE;
    for (var i = lid; i < params.vocab; i += WG) {
      let v = logits[base + i];
      if (after(v, i, pv, pi) && beats(v, i, bv, bi)) { bv = v; bi = i; }
    }
    bestValue[lid] = bv;
    bestIndex[lid] = bi;
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lid < stride && beats(bestValue[lid + stride], bestIndex[lid + stride], bestValue[lid], bestIndex[lid])) {
        bestValue[lid] = bestValue[lid + stride];
        bestIndex[lid] = bestIndex[lid + stride];
      }
    }
    workgroupBarrier();
    pv = bestValue[0];
    pi = bestIndex[0];
    workgroupBarrier(); // every invocation has read the winner before the next pass overwrites it
    if (lid == 0u) {
      out[params.outOffset + 1u + 2u * k] = pi;
      out[params.outOffset + 2u + 2u * k] = bitcast<u32>(pv - logZ);
    }
  }
}
