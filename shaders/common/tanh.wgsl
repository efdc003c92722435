// tanh from one exp: sign(x)·(1 − e^(−2|x|)) / (1 + e^(−2|x|)). Finite for every finite x (WGSL's tanh is only
// as accurate as sinh/cosh and may overflow to NaN for large |x| on some drivers); absolute error ~1e-7.
fn tanh_f32(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}
