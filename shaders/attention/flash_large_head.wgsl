// Prefill attention, flash style, for heads larger than flash.wgsl keeps in registers (head_dim > 128): each
// invocation owns one (query row, head) and streams that row's keys 0..startPos + t once, with an online
// softmax: when a score s exceeds the running max m, the running sum l and the output accumulator are rescaled
// by e^(m−s); then p = e^(s−m), l += p, o += p·v.
// No workgroup memory: SwiftShader expands the zero-initialisation of workgroup arrays element by element
// at pipeline creation (a 6.6k-float tile set took seconds to compile per head size), and on a CPU adapter
// staging K/V tiles saves nothing over reading them from cache. The accumulator is the row's slice of
// `out`, normalised by l at the end; q is re-read from storage (cached) rather than copied.
struct Params { tokens: u32, startPos: u32, kvGroup: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;           // [tokens, heads, HEAD_DIM / 4]
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]
@group(0) @binding(3) var<storage, read> vCache: array<vec4<f32>>;      // [kvHeads, maxSeq, HEAD_DIM / 4]
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;   // [tokens, heads, HEAD_DIM / 4]

override WG: u32 = 16;    // query rows per workgroup
override HEAD_DIM: u32;   // a multiple of 4
override SCALE: f32;
const LOWEST: f32 = -3.0e38; // below any score, and exp(LOWEST - s) is 0

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x;
  if (t >= params.tokens) { return; }
  let lanes = HEAD_DIM / 4u; // vec4s per head
  let heads = nwg.y;
  let h = gid.y;
  let kvBase = (h / params.kvGroup) * params.maxSeq * lanes;
  let qBase = (t * heads + h) * lanes;
  let oBase = qBase;
  for (var c = 0u; c < lanes; c++) { out[oBase + c] = vec4(0.0); }
  var m = LOWEST;
  var l = 0.0;
  let keyEnd = params.startPos + t + 1u;
  for (var key = 0u; key < keyEnd; key++) {
    let kBase = kvBase + key * lanes;
    var dot = vec4(0.0);
    for (var c = 0u; c < lanes; c++) { dot += q[qBase + c] * kCache[kBase + c]; }
    let s = (dot.x + dot.y + dot.z + dot.w) * SCALE;
    if (s > m) {
      let rescale = exp(m - s);
      l *= rescale;
      for (var c = 0u; c < lanes; c++) { out[oBase + c] *= rescale; }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    for (var c = 0u; c < lanes; c++) { out[oBase + c] += p * vCache[kBase + c]; }
  }
  for (var c = 0u; c < lanes; c++) { out[oBase + c] /= l; }
}
