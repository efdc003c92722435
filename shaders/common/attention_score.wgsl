// One attention score, shared by the attention kernels.
#include "common/softcap.wgsl"

override SCALE: f32;         // 1/sqrt(head_dim) unless the model says otherwise
override SOFTCAP: f32 = 0.0; // scores soft-capped at ±SOFTCAP (Gemma 2's attn_logit_softcapping); 0 = none

const LOWEST: f32 = -3.0e38; // below any score, and exp(LOWEST - s) is 0

// softcap(q·k · SCALE, SOFTCAP) from the head's q·k summed per vec4 lane (lanes added x + y + z + w)
fn attention_score(dot: vec4<f32>) -> f32 {
  return softcap((dot.x + dot.y + dot.z + dot.w) * SCALE, SOFTCAP);
}
