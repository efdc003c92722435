// The pieces of an RMSNorm row (Hugging Face RMSNorm in f32): 1 / sqrt(mean(x²) + eps) from each invocation's
// share of Σx² (the same tree wherever it runs, common/workgroup_reduce.wgsl), and the weight factor w, or
// (1 + w) for Gemma's x·(1 + w) (WEIGHT_OFFSET 1). The includer defines WG.
#include "common/workgroup_reduce.wgsl"

override WEIGHT_OFFSET: f32 = 0.0; // 0: y = w·x̂ (Llama, Qwen); 1: y = (1 + w)·x̂ (Gemma)

fn inv_rms(lid: u32, sumSquares: f32, dim: u32, eps: f32) -> f32 {
  return inverseSqrt(workgroup_sum(lid, sumSquares) / f32(dim) + eps);
}

fn norm_weight(w: f32) -> f32 {
  if (WEIGHT_OFFSET != 0.0) { return WEIGHT_OFFSET + w; }
  return w;
}
