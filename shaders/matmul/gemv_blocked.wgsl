// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated: silu(gate[m, n]) · (...), on CPU adapters.
// A register block: each invocation computes 4 consecutive outputs (the lanes of one vec4 accumulator) for MB
// activation rows (one accumulator each), walking K one 16-byte word of each weight row at a time
// (common/weight_step.wgsl). Every x load serves 4 outputs and every weight load/decode serves MB rows: on SwiftShader each storage load is a per-lane gather and costs more than
// the arithmetic, so this runs a single f16 row ~1.4x (f32 ~1.7x) and 8 rows ~2x faster than one output per
// invocation.
// A row's result depends only on that row (the same operations in the same order whatever MB and whichever
// outputs share its invocation), so a row verified in a batch is bitwise equal to the same row decoded alone.
// Weight words are read whole (cheaper than four 4-byte loads on SwiftShader) and the row accumulators are
// indexed by constants (guarded by MB, an override) so they stay in registers.
// NORM: x is read through an RMSNorm (common/norm_prologue.wgsl), bitwise as if misc/rmsnorm.wgsl had written it.
// ARGMAX: the workgroup stores its greedy partial instead of its outputs (common/argmax_partial.wgsl).
// The caller guarantees k % 8 == 0 (k % 32 == 0 for q8/q4) and x_offset % 4 == 0 (src/kernels/linear.ts).
#include "common/gemv_rows.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Rows [m0, m0 + MB); the last group starts early enough to end at `rows` (the caller keeps MB <= rows)
  // and stores only the rows no earlier group stored, so no invocation reads past the activations.
  let m0 = min(wg.z * MB, params.rows - MB);
  let first_stored = wg.z * MB - m0;
  x_row0 = (params.x_offset + m0 * params.k) / 4u;
  x_row_len = params.k / 4u;
  if (NORM) { norm_prologue(lid, x_row0); }
  let group = wg.x + wg.y * nwg.x;
  let n0 = group * WG * OUTPUTS + lid * OUTPUTS;
  if (ARGMAX) {
    var best = vec2<u32>(0u, ARGMAX_NONE);
    if (n0 < params.n) {
      dot_outputs(n0);
      for (var o = 0u; o < min(OUTPUTS, params.n - n0); o++) { best = argmax_fold(best, argmax_candidate(n0 + o, s[0][o])); }
    }
    argmax_partial(lid, group, group * WG * OUTPUTS, best, WG, 1u);
    return;
  }
  if (n0 >= params.n) { return; }
  dot_outputs(n0);
  for (var r = first_stored; r < MB; r++) {
    if (PAIRED) {
      // n0 and n are even: outputs o, o + 1 are a pair
      for (var o = 0u; o < min(OUTPUTS, params.n - n0); o += 2u) { store_pair(m0 + r, n0 + o, s[r][o], s[r][o + 1u]); }
    } else {
      for (var o = 0u; o < min(OUTPUTS, params.n - n0); o++) { store_output(m0 + r, n0 + o, s[r][o]); }
    }
  }
}
