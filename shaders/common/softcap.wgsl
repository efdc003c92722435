// Gemma 2's logit soft-capping: tanh(x / cap) · cap, which bounds x to (−cap, cap); cap 0 leaves x alone.
#include "common/tanh.wgsl"

fn softcap(x: f32, cap: f32) -> f32 {
  if (cap > 0.0) { return tanh_f32(x / cap) * cap; }
  return x;
}
