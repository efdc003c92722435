// gelu_pytorch_tanh (Gemma's GeGLU activation): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), written as
// x / (1 + e^(−2u)) with u the tanh's argument (the same function, since 1 + tanh(u) = 2 / (1 + e^(−2u)), without
// the cancellation of 1 + tanh(u) for negative x).
fn gelu_tanh(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * (x * x * x));
  return x / (1.0 + exp(-2.0 * u));
}
