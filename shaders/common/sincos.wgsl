// sin/cos of RoPE angles with an exact quadrant reduction and Taylor polynomials, because driver sin/cos lose
// accuracy on the large angles that long positions produce (SwiftShader reduces in plain f32). Shared by the
// RoPE kernels so every path rotates with the same bits.
const TWO_OVER_PI: f32 = 0.63661977236758134;
// π/2 = P1 + P2 + P3; P1 and P2 carry 12 significant bits so that (12-bit integer)·P1 and ·P2 are exact in f32.
const P1: f32 = 1.5703125;
const P2: f32 = 0.0004837512969970703125;
const P3: f32 = 7.549790126404332e-08;

// (sin, cos) of r for |r| <= π/4; the truncation error is below 1e-10.
fn sinCosSmall(r: f32) -> vec2<f32> {
  let r2 = r * r;
  let s = r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0 + r2 * (-1.0 / 39916800.0))))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0 + r2 * (1.0 / 479001600.0))))));
  return vec2<f32>(s, c);
}

// (sin, cos) of a >= 0 (Cody–Waite reduction by π/2: k split into 12-bit halves keeps every product exact).
fn sinCos(a: f32) -> vec2<f32> {
  let k = floor(a * TWO_OVER_PI + 0.5);
  let kHi = floor(k / 4096.0) * 4096.0;
  let kLo = k - kHi;
  let r = (((((a - kHi * P1) - kLo * P1) - kHi * P2) - kLo * P2) - k * P3);
  let sc = sinCosSmall(r);
  let quadrant = u32(k) & 3u;
  if (quadrant == 0u) { return sc; }
  if (quadrant == 1u) { return vec2<f32>(sc.y, -sc.x); }
  if (quadrant == 2u) { return -sc; }
  return vec2<f32>(-sc.y, sc.x);
}

// (sin, cos) of a RoPE angle, scaled by the includer's ATTN_FACTOR override (LongRoPE's attention factor; 1 = none).
fn ropeSinCos(angle: f32) -> vec2<f32> {
  if (ATTN_FACTOR != 1.0) { return sinCos(angle) * ATTN_FACTOR; }
  return sinCos(angle);
}
