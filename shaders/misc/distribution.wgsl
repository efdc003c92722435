// Sampling distribution per row (one workgroup per row), Hugging Face warper order:
//   z = logits / temperature; keep the top-k of z; keep the top-p nucleus of softmax over what is left; keep (min-p)
//   the entries whose probability is at least minP times the top one's, i.e. z >= max z + ln(minP);
//   probs = renormalised softmax over the kept entries, 0 elsewhere.
// No sort: each cut is a threshold on z found bit by bit over the order-preserving u32 key of z, because
// "count (or mass) of entries with key >= t" falls as t grows. The largest t whose count is >= topK is the
// k-th largest value (ties at it are all kept, as HF keeps every score >= the k-th). The largest t whose mass
// is >= topP keeps exactly the entries HF keeps: those whose strictly-greater mass is still below topP.
struct Params { vocab: u32, temperature: f32, topK: u32, topP: f32, minP: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // [rows, vocab]
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;  // [rows, vocab]; holds exp(z - max) until the end

override WG: u32 = 64; // a power of two (tree reductions)

#include "common/workgroup_reduce.wgsl"

// Order-preserving map f32 -> u32: a < b  <=>  key(a) < key(b).
fn key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Σ x over the workgroup for counts: exact in f32 while the total stays below 2^24 (it is at most the vocab size).
fn reduceCount(lid: u32, x: u32) -> u32 {
  return u32(workgroup_sum(lid, f32(x)));
}

// Σ exp(z - max) over entries with key >= t
fn massFrom(lid: u32, base: u32, t: u32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < params.vocab; i += WG) {
    if (key(logits[base + i] / params.temperature) >= t) { s += probs[base + i]; }
  }
  return workgroup_sum(lid, s);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let lid = lidv.x;
  let base = wg.x * params.vocab;
  let vocab = params.vocab;

  var m = -3.0e38;
  for (var i = lid; i < vocab; i += WG) { m = max(m, logits[base + i] / params.temperature); }
  m = workgroup_max(lid, m);
  for (var i = lid; i < vocab; i += WG) { probs[base + i] = exp(logits[base + i] / params.temperature - m); }

  var cut = 0u; // keep entries with key(z) >= cut
  if (params.topK > 0u && params.topK < vocab) {
    for (var bit = 31; bit >= 0; bit--) {
      let candidate = cut | (1u << u32(bit));
      var n = 0u;
      for (var i = lid; i < vocab; i += WG) { n += select(0u, 1u, key(logits[base + i] / params.temperature) >= candidate); }
      if (reduceCount(lid, n) >= params.topK) { cut = candidate; }
    }
  }
  var kept = massFrom(lid, base, cut);
  if (params.topP < 1.0) {
    let goal = params.topP * kept;
    var pCut = 0u; // search from 0: setting bits on top of `cut` would skip thresholds
    for (var bit = 31; bit >= 0; bit--) {
      let candidate = pCut | (1u << u32(bit));
      // below the top-k cut the mass is all of `kept`, which always reaches the goal
      if (candidate <= cut || massFrom(lid, base, candidate) >= goal) { pCut = candidate; }
    }
    // the nucleus always keeps the top entry (HF's min_tokens_to_keep = 1): a goal that rounds to 0 in f32
    // (topP = 1e-45) would otherwise cut everything and leave 0 / 0
    cut = max(cut, min(pCut, key(m)));
    kept = massFrom(lid, base, cut);
  }
  if (params.minP > 0.0) {
    // the top entry always passes: ln(minP) <= 0; the cuts above never remove it, so p / p_top = exp(z - m)
    cut = max(cut, min(key(m + log(params.minP)), key(m)));
    kept = massFrom(lid, base, cut);
  }
  for (var i = lid; i < vocab; i += WG) {
    let inside = key(logits[base + i] / params.temperature) >= cut;
    probs[base + i] = select(0.0, probs[base + i] / kept, inside);
  }
}
