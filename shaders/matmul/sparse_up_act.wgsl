// Activation-sparse MLP, step 1 (CATS): given the dense gate pre-activations g, neuron i is live when
// |silu(g_i)| > threshold; only live neurons compute their up row: act_i = silu(g_i) * (W_up[i] · x),
// others write 0 and read no weights. W_up rows are contiguous, so a skipped neuron skips a whole row.
#include "common/silu.wgsl"

struct Params { n: u32, cols: u32, threshold: f32, x_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;             // [cols / 4] f32 normed input, from x_offset / 4
@group(0) @binding(2) var<storage, read> gate: array<f32>;                // [n] f32 gate pre-activations
@group(0) @binding(3) var<storage, read> w: array<vec4<u32>>;             // [n, cols] W_up in FORMAT, 16-byte words
@group(0) @binding(4) var<storage, read> scales: array<f32>;              // [n, cols / 32] f32 (q8/q4)
@group(0) @binding(5) var<storage, read_write> act: array<f32>;           // [n] f32 silu(g) * up, 0 where skipped

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per neuron; divides WG, power of two

var<workgroup> partial: array<f32, WG>;

// x[4v..4v+4]
fn xv(v: u32) -> vec4<f32> { return x[params.x_offset / 4u + v]; }

#include "common/weight_step.wgsl"

// W_up row `row`, step t, dotted with x
fn row_step(row: u32, t: u32) -> f32 {
  let i = step_word(row, params.cols, t);
  var q2 = vec4<u32>();
  if (FORMAT == 0u) { q2 = w[i + 1u]; }
  var scale = 1.0;
  if (FORMAT >= 2u) { scale = scales[step_scale(row, params.cols, t)]; }
  return step_dot(w[i], q2, scale, t * STEP_WEIGHTS[FORMAT] / 4u);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  var a = 0.0;
  if (n < params.n) {
    a = silu(gate[n]);
  }
  let live = n < params.n && abs(a) > params.threshold;
  var u = 0.0;
  if (live) {
    for (var t = lane; t < params.cols / STEP_WEIGHTS[FORMAT]; t += LANES) { u += row_step(n, t); }
  }
  if (LANES > 1u) {
    partial[lid] = u;
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lane < stride) { partial[lid] += partial[lid + stride]; }
    }
    workgroupBarrier();
    u = partial[lid];
  }
  if (n < params.n && lane == 0u) { act[n] = select(0.0, a * u, live); }
}
