// Activation-sparse MLP, step 2: the up projections of the live neurons only, act_i = silu(g_i) · (W_up[i] · x),
// over the list sparse_compact made: each entry's silu(g_i) is replaced by act_i. W_up rows are contiguous, so a
// skipped neuron reads no weights. Each group of LANES invocations computes 4 consecutive entries, whose rows
// share the x loads of every step (common/weight_step.wgsl); lanes split the steps and reduce in workgroup memory.

struct Params { cols: u32, x_offset: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;           // [cols / 4] f32 normed input, from x_offset / 4
@group(0) @binding(2) var<storage, read_write> live: array<vec2<u32>>;  // [1 + n] (count, total), then (index, silu(g) -> act bits)
@group(0) @binding(3) var<storage, read> w: array<vec4<u32>>;           // [n, cols] W_up in FORMAT, 16-byte words
@group(0) @binding(4) var<storage, read> scales: array<f32>;            // [n, cols / 32] f32 (q8/q4)

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per group of 4 entries; divides WG, power of two
const ROWS = 4u;           // live entries per group

alias LaneSum = vec4<f32>;
var<workgroup> partial: array<LaneSum, WG>;

var<private> x0: u32; // index in x (vec4s) of element 0 of the input

fn xv(v: u32) -> vec4<f32> { return x[x0 + v]; }

#include "common/weight_step.wgsl"
#include "common/lane_sum.wgsl"

fn wq(b: u32, i: u32) -> vec4<u32> { return w[i]; }
fn wscale(b: u32, j: u32) -> f32 { return scales[j]; }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = ((wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES) * ROWS;
  let lane = lid % LANES;
  let count = live[0].x;
  var acc = vec4<f32>(0.0);
  if (first < count) {
    // entries past the list end repeat its last row (their results are not stored)
    let last = count - 1u;
    let rows = vec4<u32>(live[1u + first].x, live[1u + min(first + 1u, last)].x, live[1u + min(first + 2u, last)].x, live[1u + min(first + 3u, last)].x);
    let at = row_starts(rows, params.cols);
    x0 = params.x_offset / 4u;
    for (var t = lane; t < params.cols / STEP_WEIGHTS[FORMAT]; t += LANES) {
      acc += step_dot4(load_step(0u, at, t), t * (STEP_WEIGHTS[FORMAT] / 4u));
    }
  }
  acc = lane_sum(lid, lane, acc);
  if (first >= count || lane != 0u) { return; }
  for (var r = 0u; r < min(ROWS, count - first); r++) {
    let entry = live[1u + first + r];
    live[1u + first + r].y = bitcast<u32>(bitcast<f32>(entry.y) * acc[r]);
  }
}
