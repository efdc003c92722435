// Stochastic verification of k drafts (Leviathan et al. / Chen et al.): draft d_i, sampled from q_i, is accepted
// with probability min(1, p_i(d_i) / q_i(d_i)) (as u_i · q_i(d_i) < p_i(d_i)); at the first rejection the round
// emits a token drawn from norm(max(0, p_n − q_n)) and stops; when all k are accepted it draws the bonus token
// from p_k. The emitted tokens are then distributed exactly as samples from p.
// Row i of p is the target distribution after [pending, d_1..d_i]; row i of q the one d_{i+1} was drawn from.
// out = [n, d_1..d_n, drawn token]. One workgroup: invocation 0 runs the acceptance tests, all invocations sum
// their contiguous chunk of the residual, and invocation 0 inverts the CDF with the last uniform.
struct Params { drafts: u32, vocab: u32, draftsOffset: u32, uniformsOffset: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> p: array<f32>;          // [drafts + 1, vocab] target probabilities
@group(0) @binding(2) var<storage, read> q: array<f32>;          // [drafts, vocab] draft probabilities
@group(0) @binding(3) var<storage, read> tokens: array<u32>;     // [draftsOffset + drafts] draft ids d_1..d_k
@group(0) @binding(4) var<storage, read> uniforms: array<f32>;   // [uniformsOffset + drafts + 1] uniforms in [0, 1)
@group(0) @binding(5) var<storage, read_write> out: array<u32>;  // [outOffset + drafts + 2]

override WG: u32 = 64;

var<workgroup> acceptedCount: u32;
var<workgroup> residualSum: array<f32, WG>;  // per chunk: Σ max(0, p_n − q_n) (or Σ p_k for the bonus)
var<workgroup> targetSum: array<f32, WG>;    // per chunk: Σ p_n, the fallback when the residual is all zero

// mass of token v: the residual when `subtract`, else the target probability
fn mass(n: u32, v: u32, subtract: bool) -> f32 {
  let pv = p[n * params.vocab + v];
  if (!subtract) { return pv; }
  return max(0.0, pv - q[n * params.vocab + v]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let k = params.drafts;
  let vocab = params.vocab;
  if (t == 0u) {
    var n = 0u;
    for (; n < k; n++) {
      let d = tokens[params.draftsOffset + n];
      if (!(uniforms[params.uniformsOffset + n] * q[n * vocab + d] < p[n * vocab + d])) { break; }
      out[params.outOffset + 1u + n] = d;
    }
    acceptedCount = n;
  }
  let n = workgroupUniformLoad(&acceptedCount);
  let rejected = n < k;
  let chunk = (vocab + WG - 1u) / WG;
  let begin = min(vocab, t * chunk);
  let end = min(vocab, begin + chunk);
  var rs = 0.0;
  var ts = 0.0;
  for (var v = begin; v < end; v++) {
    rs += mass(n, v, rejected);
    ts += mass(n, v, false);
  }
  residualSum[t] = rs;
  targetSum[t] = ts;
  workgroupBarrier();
  if (t != 0u) { return; }
  var total = 0.0;
  for (var c = 0u; c < WG; c++) { total += residualSum[c]; }
  // p == q up to rounding leaves no residual mass (a rejection is then a rounding artefact): draw from p
  let subtract = rejected && total > 0.0;
  if (!subtract) {
    total = 0.0;
    for (var c = 0u; c < WG; c++) { total += targetSum[c]; }
  }
  let goal = uniforms[params.uniformsOffset + k] * total;
  var cumulative = 0.0;
  var c = 0u;
  for (; c + 1u < WG; c++) {
    let s = select(targetSum[c], residualSum[c], subtract);
    if (cumulative + s > goal) { break; }
    cumulative += s;
  }
  // walk back to the last chunk with mass (rounding can push `goal` past the final nonzero chunk)
  while (c > 0u && select(targetSum[c], residualSum[c], subtract) <= 0.0) {
    c--;
    cumulative -= select(targetSum[c], residualSum[c], subtract);
  }
  var drawn = min(vocab, c * chunk);
  for (var v = drawn; v < min(vocab, (c + 1u) * chunk); v++) {
    let m = mass(n, v, subtract);
    if (m > 0.0) {
      drawn = v;
      if (cumulative + m > goal) { break; }
      cumulative += m;
    }
  }
  // target probabilities summing to NaN or infinity (non-finite logits) draw no token: 0xffffffff, reported by the runtime
  var pTotal = 0.0;
  for (var j = 0u; j < WG; j++) { pTotal += targetSum[j]; }
  let finite = (bitcast<u32>(pTotal) & 0x7f800000u) != 0x7f800000u;
  out[params.outOffset] = n;
  out[params.outOffset + 1u + n] = select(0xffffffffu, drawn, finite);
}
