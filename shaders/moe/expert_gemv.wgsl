// Decode path of the MoE MLP (a few tokens): one dispatch runs every (token, expert) pair's matvec, reading
// the expert id of each pair from `ids` and the expert's place in the stacked weights from `slots`, so
// routing never leaves the GPU. MODE 0: out = silu(x·Wgᵀ) * (x·Wuᵀ) with both projections sharing the x
// reads; MODE 1: out = x·Waᵀ (the down projection). A pair whose expert has no slot (NONE: not resident
// in this round) is skipped. Each pair's result depends only on that pair: bitwise the same for any count.
#include "common/quant.wgsl"
#include "common/silu.wgsl"

struct Params { pairs: u32, n: u32, cols: u32, x_group: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;           // [pairs / x_group, cols] f32: pair p reads row p / x_group
@group(0) @binding(2) var<storage, read> ids: array<u32>;         // [pairs] u32 expert id per pair
@group(0) @binding(3) var<storage, read> slots: array<u32>;       // [experts] u32 expert -> block of n rows in wa/wb, or NONE
@group(0) @binding(4) var<storage, read> wa: array<u32>;          // [slots * n, cols] in FORMAT (gate, or down in MODE 1)
@group(0) @binding(5) var<storage, read> sa: array<f32>;          // [slots * n, cols / 32] f32 scales (q8/q4)
@group(0) @binding(6) var<storage, read> wb: array<u32>;          // [slots * n, cols] in FORMAT (up; unused in MODE 1)
@group(0) @binding(7) var<storage, read> sb: array<f32>;          // [slots * n, cols / 32] f32 scales (q8/q4; unused in MODE 1)
@group(0) @binding(8) var<storage, read_write> out: array<f32>;   // [pairs, n] f32

override FORMAT: u32 = 0u; // 0 f32, 1 f16, 2 q8, 3 q4
override MODE: u32 = 0u;   // 0 fused gate/up + silu, 1 single projection
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per output row; divides WG, power of two
const NONE = 0xffffffffu;

var<workgroup> partial: array<vec2<f32>, WG>;

#include "common/expert_pair.wgsl"

// dot of weight row `row` of buffer b, elements 8c..8c+8, with x[x0 + 8c ..]
fn dot8(b: u32, row: u32, c: u32, x0: u32) -> f32 {
  let k = 8u * c;
  let xl = vec4<f32>(x[x0 + k], x[x0 + k + 1u], x[x0 + k + 2u], x[x0 + k + 3u]);
  let xh = vec4<f32>(x[x0 + k + 4u], x[x0 + k + 5u], x[x0 + k + 6u], x[x0 + k + 7u]);
  let cols = params.cols;
  switch FORMAT {
    case 0u: {
      let i = row * cols + k;
      let lo = bitcast<vec4<f32>>(vec4<u32>(word(b, i), word(b, i + 1u), word(b, i + 2u), word(b, i + 3u)));
      let hi = bitcast<vec4<f32>>(vec4<u32>(word(b, i + 4u), word(b, i + 5u), word(b, i + 6u), word(b, i + 7u)));
      return dot(lo, xl) + dot(hi, xh);
    }
    case 1u: {
      let i = (row * cols + k) / 2u;
      let lo = vec4<f32>(unpack2x16float(word(b, i)), unpack2x16float(word(b, i + 1u)));
      let hi = vec4<f32>(unpack2x16float(word(b, i + 2u)), unpack2x16float(word(b, i + 3u)));
      return dot(lo, xl) + dot(hi, xh);
    }
    case 2u: {
      let i = (row * cols + k) / 4u;
      return (dot(unpack_q8(word(b, i)), xl) + dot(unpack_q8(word(b, i + 1u)), xh)) * scale(b, (row * cols + k) / QUANT_BLOCK);
    }
    default: {
      let wv = word(b, (row * cols + k) / 8u);
      return (dot(unpack_q4_lo(wv), xl) + dot(unpack_q4_hi(wv), xh)) * scale(b, (row * cols + k) / QUANT_BLOCK);
    }
  }
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
    let x0 = (pair / params.x_group) * params.cols;
    for (var c = lane; c < params.cols / 8u; c += LANES) {
      acc.x += dot8(0u, row, c, x0);
      if (MODE == 0u) { acc.y += dot8(1u, row, c, x0); }
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
