// The bindings every linear kernel shares (src/kernels/linear.ts binds them in this order) and its output rule.
// Each kernel declares binding 1 (x) and binding 2 (w) itself, typed for the loads it makes.
#include "common/silu.wgsl"
#include "common/gelu.wgsl"

struct Params { rows: u32, n: u32, k: u32, x_offset: u32, y_offset: u32, y_stride: u32, has_bias: u32, accumulate: u32, gated: u32, start_pos: u32, cache_slots: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> scales: array<f32>;   // [n, k/32] f32 (q8/q4; unused otherwise)
@group(0) @binding(4) var<storage, read> bias: array<f32>;     // [n] f32 (unused without has_bias)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;  // [rows, y_stride] f32, from y_offset (y_stride >= n: a row piece of a wider y)
@group(0) @binding(6) var<storage, read_write> gate: array<f32>; // [rows, y_stride] f32, from y_offset (gated); split: part 2 [rows, SPLIT_B]
@group(0) @binding(8) var<storage, read_write> y3: array<f32>;   // split: part 3 [rows, n - SPLIT_A - SPLIT_B] f32

override ACT: u32 = 0u; // the gated activation: 0 silu (SwiGLU), 1 gelu_pytorch_tanh (GeGLU)
// Split outputs (SPLIT_A > 0; q, k and v from one matrix): columns [0, SPLIT_A) go to y [rows, SPLIT_A], the next
// SPLIT_B to gate [rows, SPLIT_B], the rest to y3, each part row-major on its own (no offsets, no accumulate).
override SPLIT_A: u32 = 0u;
override SPLIT_B: u32 = 0u;
// Gate and up stacked (GATE_UP; the gated MLP in one matrix): W's rows alternate gate_j (row 2j) and up_j (row 2j + 1),
// so the invocation that computes one computes both; each pair stores act(gate_j) · up_j once, at y column j.
override GATE_UP: bool = false;
// The paired outputs' rule (PAIRED, weight_row, store_pair): gate/up here; the q/k/v epilogue with RoPE and the KV
// append substitutes common/linear_pairs_kv.wgsl (its extra binding stays out of the other kernels' layouts).
#include "common/linear_pairs.wgsl"

fn gated(g: f32, u: f32) -> f32 {
  if (ACT == 1u) { return gelu_tanh(g) * u; }
  return silu_gated(g, u);
}

// y[m, n] = x[m]·W[n] (+ bias[n]), gated: act(gate[m, n]) · (...), accumulate: y[m, n] + (...); split: see SPLIT_A.
fn store_output(m: u32, n: u32, dot: f32) {
  var v = dot;
  if (params.has_bias != 0u) { v += bias[n]; }
  if (SPLIT_A != 0u) {
    let ab = SPLIT_A + SPLIT_B;
    if (n < SPLIT_A) { y[m * SPLIT_A + n] = v; } else if (n < ab) { gate[m * SPLIT_B + n - SPLIT_A] = v; } else { y3[m * (params.n - ab) + n - ab] = v; }
    return;
  }
  let i = params.y_offset + m * params.y_stride + n;
  if (params.gated != 0u) { v = gated(gate[i], v); }
  if (params.accumulate != 0u) { v += y[i]; }
  y[i] = v;
}

// y[m, j] = act(g) · u for the outputs g = x[m]·W[2j], u = x[m]·W[2j + 1] (GATE_UP): the bits store_output writes
// for the up projection when gate[m, j] holds g.
fn store_gate_up(m: u32, j: u32, g: f32, u: f32) {
  y[params.y_offset + m * params.y_stride + j] = gated(g, u);
}
