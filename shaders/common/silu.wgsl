// The gated MLP's activation: silu(g) · u, silu(g) = g / (1 + exp(-g)). One definition for every kernel that
// applies it, so fused and separate paths give the same bits.
fn silu(g: f32) -> f32 {
  return g / (1.0 + exp(-g));
}

fn silu_gated(g: f32, u: f32) -> f32 {
  return silu(g) * u;
}
