// One row's online softmax over its keys (the flash kernels, the serial split-K kernel), with their scores
// (common/attention_score.wgsl).
#include "common/attention_score.wgsl"

// After keys with scores s_1..s_n, m = max s_i and l = Σ e^(s_i − m).
var<private> m: f32;
var<private> l: f32;

fn softmax_start() {
  m = LOWEST;
  l = 0.0;
}

// Folds in score s. Returns (rescale, p): the factor the row's output accumulator is multiplied by first (when
// s exceeds m, e^(m_old − s); else exactly 1, and the caller skips the multiply), then the weight p = e^(s − m)
// of the key's value.
fn softmax_fold(s: f32) -> vec2<f32> {
  var rescale = 1.0;
  if (s > m) {
    rescale = exp(m - s);
    l *= rescale;
    m = s;
  }
  let p = exp(s - m);
  l += p;
  return vec2(rescale, p);
}
