// Decode path of the MoE MLP (a few tokens): one dispatch runs every (token, expert) pair's matvec, reading
// the expert id of each pair from `ids` and the expert's place in the stacked weights from `slots`, so
// routing never leaves the GPU. MODE 0: out = silu(x·Wgᵀ) * (x·Wuᵀ) with both projections sharing the x
// reads; MODE 1: out = x·Waᵀ (the down projection). A pair whose expert has no slot (NONE: not resident
// in this round) is skipped. Each pair's result depends only on that pair: bitwise the same for any count.
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

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override MODE: u32 = 0u;   // 0 fused gate/up + silu, 1 single projection
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per output row; divides WG, power of two
const NONE = 0xffffffffu;

var<workgroup> partial: array<vec2<f32>, WG>;

var<private> x_row: u32; // index in x (vec4s) of this pair's row

fn xv(v: u32) -> vec4<f32> { return x[x_row + v]; }

#include "common/weight_step.wgsl"

// step t of weight row `row` of wa (b = 0) or wb (b = 1), dotted with x
fn row_step(b: u32, row: u32, t: u32) -> f32 {
  let i = step_word(row, params.cols, t);
  let j = step_scale(row, params.cols, t);
  var q = vec4<u32>();
  var q2 = vec4<u32>();
  var scale = 1.0;
  if (b == 0u) {
    q = wa[i];
    if (FORMAT == 0u) { q2 = wa[i + 1u]; }
    if (FORMAT >= 2u) { scale = sa[j]; }
  } else {
    q = wb[i];
    if (FORMAT == 0u) { q2 = wb[i + 1u]; }
    if (FORMAT >= 2u) { scale = sb[j]; }
  }
  return step_dot(q, q2, scale, t * STEP_WEIGHTS[FORMAT] / 4u);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  let pair = wg.z;
  let slot = slots[ids[pair]];
  let live = n < params.n && slot != NONE;
  var acc = vec2<f32>(0.0);
  if (live) {
    let row = slot * params.n + n;
    x_row = (pair / params.x_group) * (params.cols / 4u);
    for (var t = lane; t < params.cols / STEP_WEIGHTS[FORMAT]; t += LANES) {
      acc.x += row_step(0u, row, t);
      if (MODE == 0u) { acc.y += row_step(1u, row, t); }
    }
  }
  if (LANES > 1u) {
    partial[lid] = acc;
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
      workgroupBarrier();
      if (lane < stride) { partial[lid] += partial[lid + stride]; }
    }
    workgroupBarrier();
    acc = partial[lid];
  }
  if (!live || lane != 0u) { return; }
  var v = acc.x;
  if (MODE == 0u) { v = silu_gated(acc.x, acc.y); }
  out[pair * params.n + n] = v;
}
