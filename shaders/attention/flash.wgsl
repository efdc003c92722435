// Prefill attention, flash style: each invocation owns one (query row, head) and streams that row's keys
// 0..startPos + t once, with an online softmax: when a score s exceeds the running max m, the running sum l
// and the output accumulator are rescaled by e^(m−s); then p = e^(s−m), l += p, o += p·v.
// No workgroup memory: SwiftShader expands the zero-initialisation of workgroup arrays element by element
// at pipeline creation (a 6.6k-float tile set took seconds to compile per head size), and on a CPU adapter
// staging K/V tiles saves nothing over reading them from cache. The accumulator is the row's slice of
// `out`, normalised by l at the end; q is re-read from storage (cached) rather than copied.
struct Params { tokens: u32, startPos: u32, kvGroup: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;           // [tokens, heads, HEAD_DIM]
@group(0) @binding(2) var<storage, read> kCache: array<f32>;      // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(3) var<storage, read> vCache: array<f32>;      // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [tokens, heads, HEAD_DIM]

override WG: u32 = 16;    // query rows per workgroup
override HEAD_DIM: u32;
override SCALE: f32;

const LOWEST: f32 = -3.0e38; // below any score, and exp(LOWEST - s) is 0

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x;
  if (t >= params.tokens) { return; }
  let heads = nwg.y;
  let h = gid.y;
  let kvBase = (h / params.kvGroup) * params.maxSeq * HEAD_DIM;
  let qBase = (t * heads + h) * HEAD_DIM;
  let oBase = qBase;
  for (var d = 0u; d < HEAD_DIM; d++) { out[oBase + d] = 0.0; }
  var m = LOWEST;
  var l = 0.0;
  let keyEnd = params.startPos + t + 1u;
  for (var key = 0u; key < keyEnd; key++) {
    let kBase = kvBase + key * HEAD_DIM;
    var s = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) { s += q[qBase + d] * kCache[kBase + d]; }
    s *= SCALE;
    if (s > m) {
      let rescale = exp(m - s);
      l *= rescale;
      for (var d = 0u; d < HEAD_DIM; d++) { out[oBase + d] *= rescale; }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    for (var d = 0u; d < HEAD_DIM; d++) { out[oBase + d] += p * vCache[kBase + d]; }
  }
  for (var d = 0u; d < HEAD_DIM; d++) { out[oBase + d] /= l; }
}
