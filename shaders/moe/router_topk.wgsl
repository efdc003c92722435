// Routing of each token: softmax over the E router logits, then the top-k experts (ties go to the lower
// expert id) and their probabilities, renormalised to sum to 1 when `norm_topk` is set (Mixtral,
// Qwen2-MoE norm_topk_prob). One invocation per token: E and k are small, a sequential scan is fastest.
struct Params { tokens: u32, experts: u32, k: u32, norm_topk: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;        // [tokens, experts] f32 router logits
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;     // [tokens, k] u32 chosen expert ids, best first
@group(0) @binding(3) var<storage, read_write> weights: array<f32>; // [tokens, k] f32 gate weight of each choice

override WG: u32 = 64u;
const MAX_EXPERTS = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= params.tokens) { return; }
  let e_count = params.experts;
  let row = t * e_count;
  var top = -3.4e38;
  for (var e = 0u; e < e_count; e++) { top = max(top, logits[row + e]); }
  var total = 0.0;
  for (var e = 0u; e < e_count; e++) { total += exp(logits[row + e] - top); }
  var taken: array<u32, MAX_EXPERTS / 32u>;
  var chosen_sum = 0.0;
  for (var j = 0u; j < params.k; j++) {
    var best = 0u;
    var best_logit = -3.4e38;
    var found = false;
    for (var e = 0u; e < e_count; e++) {
      let free = (taken[e / 32u] & (1u << (e % 32u))) == 0u;
      let l = logits[row + e];
      if (free && (!found || l > best_logit)) {
        best = e;
        best_logit = l;
        found = true;
      }
    }
    taken[best / 32u] |= 1u << (best % 32u);
    let p = exp(best_logit - top) / total;
    ids[t * params.k + j] = best;
    weights[t * params.k + j] = p;
    chosen_sum += p;
  }
  if (params.norm_topk != 0u) {
    for (var j = 0u; j < params.k; j++) { weights[t * params.k + j] /= chosen_sum; }
  }
}
