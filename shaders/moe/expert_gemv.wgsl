// Decode path of the MoE MLP (a few tokens): one dispatch runs every (token, expert) pair's matvec, reading
// the expert id of each pair from `ids` and the expert's place in the stacked weights from `slots`, so
// routing never leaves the GPU. MODE 0: out = silu(x·Wgᵀ) * (x·Wuᵀ) in one pass; MODE 1: out = x·Waᵀ (the down
// projection). Each invocation group computes 4 consecutive output rows, which share the x loads of every
// step (common/weight_step.wgsl). A pair whose expert has no slot (NONE: not resident in this round) is
// skipped. Each pair's result depends only on that pair: bitwise the same for any count.
#include "common/silu.wgsl"

struct Params { pairs: u32, n: u32, cols: u32, x_group: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;     // [pairs / x_group, cols / 4] f32: pair p reads row p / x_group
@group(0) @binding(2) var<storage, read> ids: array<u32>;         // [pairs] u32 expert id per pair
@group(0) @binding(3) var<storage, read> slots: array<u32>;       // [experts] u32 expert -> block of n rows in wa/wb, or NONE
@group(0) @binding(4) var<storage, read> wa: array<vec4<u32>>;    // [slots * n, cols] in FORMAT, 16-byte words (gate, or down in MODE 1)
@group(0) @binding(5) var<storage, read> sa: array<f32>;          // [slots * n, cols / 32] f32 scales (q8/q4)
@group(0) @binding(6) var<storage, read> wb: array<vec4<u32>>;    // [slots * n, cols] in FORMAT, 16-byte words (up; unused in MODE 1)
@group(0) @binding(7) var<storage, read> sb: array<f32>;          // [slots * n, cols / 32] f32 scales (q8/q4; unused in MODE 1)
@group(0) @binding(8) var<storage, read_write> out: array<f32>;   // [pairs, n] f32

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override MODE: u32 = 0u;   // 0 fused gate/up + silu, 1 single projection
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per group of OUTPUTS output rows; divides WG, power of two
const OUTPUTS = 4u;        // output rows per group, sharing the x loads
const NONE = 0xffffffffu;

alias LaneSum = mat2x4<f32>;
var<workgroup> partial: array<LaneSum, WG>; // [WG] lane partials: column 0 wa, column 1 wb, 4 outputs each

var<private> x_row: u32; // index in x (vec4s) of this pair's row

fn xv(v: u32) -> vec4<f32> { return x[x_row + v]; }

fn wq(b: u32, i: u32) -> vec4<u32> {
  if (b == 0u) { return wa[i]; }
  return wb[i];
}

fn wscale(b: u32, j: u32) -> f32 {
  if (b == 0u) { return sa[j]; }
  return sb[j];
}

#include "common/weight_step.wgsl"
#include "common/lane_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n0 = ((wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES) * OUTPUTS;
  let lane = lid % LANES;
  let pair = wg.z;
  let slot = slots[ids[pair]];
  let live = n0 < params.n && slot != NONE;
  var acc = mat2x4<f32>(); // [wa, wb] sums of outputs n0..n0+3
  if (live) {
    // outputs past n read the expert's last row (their sums are not stored)
    let rows = slot * params.n + min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
    x_row = (pair / params.x_group) * (params.cols / 4u);
    let at = row_starts(rows, params.cols);
    for (var t = lane; t < params.cols / STEP_WEIGHTS[FORMAT]; t += LANES) {
      let v = t * (STEP_WEIGHTS[FORMAT] / 4u);
      acc[0] += step_dot4(load_step(0u, at, t), v);
      if (MODE == 0u) { acc[1] += step_dot4(load_step(1u, at, t), v); }
    }
  }
  acc = lane_sum(lid, lane, acc);
  if (!live || lane != 0u) { return; }
  for (var o = 0u; o < min(OUTPUTS, params.n - n0); o++) {
    var v = acc[0][o];
    if (MODE == 0u) { v = silu_gated(acc[0][o], acc[1][o]); }
    out[pair * params.n + n0 + o] = v;
  }
}
