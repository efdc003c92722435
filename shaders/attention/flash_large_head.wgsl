// Prefill attention, flash style, for heads larger than flash.wgsl keeps in registers (head_dim > 128): each
// invocation owns one (query row, head) and streams that row's keys (common/flash_io.wgsl) once, with an online
// softmax (common/online_softmax.wgsl): when a score s exceeds the running max m, the running sum l and the output
// accumulator are rescaled by e^(m−s); then p = e^(s−m), l += p, o += p·v.
// No workgroup memory: SwiftShader expands the zero-initialisation of workgroup arrays element by element
// at pipeline creation (a 6.6k-float tile set took seconds to compile per head size), and on a CPU adapter
// staging K/V tiles saves nothing over reading them from cache. The accumulator is the row's slice of
// `out`, normalised by l at the end; q is re-read from storage (cached) rather than copied.
#include "common/flash_io.wgsl"
#include "common/online_softmax.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (gid.x >= params.tokens) { return; }
  let row = flash_row(gid, nwg.y);
  let qBase = row.qBase; // also the row's slice of `out`
  for (var c = 0u; c < LANES; c++) { out[qBase + c] = vec4(0.0); }
  softmax_start();
  var slot = row.slotStart;
  for (var key = row.keyStart; key < row.keyEnd; key++) {
    let kBase = row.kvBase + slot * LANES;
    slot = slot_after(slot, 1u, params.maxSeq);
    var dot = vec4(0.0);
    for (var c = 0u; c < LANES; c++) { dot += q[qBase + c] * kCache[kBase + c]; }
    let w = softmax_fold(attention_score(dot));
    if (w.x != 1.0) {
      for (var c = 0u; c < LANES; c++) { out[qBase + c] *= w.x; }
    }
    for (var c = 0u; c < LANES; c++) { out[qBase + c] += w.y * vCache[kBase + c]; }
  }
  for (var c = 0u; c < LANES; c++) { out[qBase + c] /= l; }
}
