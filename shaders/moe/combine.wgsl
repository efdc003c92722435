// Gated combine by gathering: x[t] += Σ_j weight[t, j] * expert_out[row of pair (t, j)] (+ sigmoid(shared
// gate logit) * shared expert output). Each output element sums its k terms in a fixed order: no atomics,
// deterministic. Rows are in sorted order (sorted = 1: the plan's inverse permutation gives each pair's
// row) or in pair order (decode path).
struct Params { tokens: u32, k: u32, hidden: u32, sorted: u32, inverse_at: u32, has_shared: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<f32>;      // [tokens, k] f32 gate weights
@group(0) @binding(2) var<storage, read> plan: array<u32>;         // routing plan: inverse [pairs] at inverse_at (sorted = 1)
@group(0) @binding(3) var<storage, read> expert_out: array<f32>;   // [pairs, hidden] f32 down projections
@group(0) @binding(4) var<storage, read> shared_out: array<f32>;   // [tokens, hidden] f32 shared expert output (has_shared)
@group(0) @binding(5) var<storage, read> shared_gate: array<f32>;  // [tokens] f32 shared expert gate logits (has_shared)
@group(0) @binding(6) var<storage, read_write> x: array<f32>;      // [tokens, hidden] f32 residual stream, x += moe(h)

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.tokens * params.hidden) { return; }
  let t = i / params.hidden;
  let c = i % params.hidden;
  var v = 0.0;
  for (var j = 0u; j < params.k; j++) {
    let pair = t * params.k + j;
    var row = pair;
    if (params.sorted != 0u) { row = plan[params.inverse_at + pair]; }
    v += weights[pair] * expert_out[row * params.hidden + c];
  }
  if (params.has_shared != 0u) { v += shared_out[i] / (1.0 + exp(-shared_gate[t])); }
  x[i] += v;
}
