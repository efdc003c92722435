// Decode path of the MoE MLP (as moe/expert_gemv.wgsl) over experts stored in a GGUF block format (GGML, a GGML_* code
// of common/formats), decoded in registers by common/ggml_blocks.wgsl: one dispatch runs every (token, expert) pair's
// matvec, the expert's rows found through `ids` and `slots`. MODE 0: out = silu(x·Wgᵀ) * (x·Wuᵀ); MODE 1: out = x·Waᵀ.
// LANES invocations share one output row, reduced in a fixed order: each pair's result depends only on that pair,
// bitwise the same for any count. One lane (CPU adapters) runs the row block by block, each head read once and the
// units in the shared sets of the layout; more lanes (GPUs) take units of 8 weights l, l + LANES, ..., so that rows of
// a few 256-blocks still spread over the lanes. A pair whose expert has no slot (NONE: not resident in this round) is
// skipped.
#include "common/silu.wgsl"

struct Params { pairs: u32, n: u32, cols: u32, x_group: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;     // [pairs / x_group, cols / 4] f32: pair p reads row p / x_group
@group(0) @binding(2) var<storage, read> ids: array<u32>;         // [pairs] u32 expert id per pair
@group(0) @binding(3) var<storage, read> slots: array<u32>;       // [experts] u32 expert -> block of n rows in wa/wb, or NONE
@group(0) @binding(4) var<storage, read> wa: array<u32>;          // [slots * n, row bytes / 4]: rows of ggml blocks (gate, or down in MODE 1)
@group(0) @binding(5) var<storage, read> wb: array<u32>;          // [slots * n, row bytes / 4]: rows of ggml blocks (up; unused in MODE 1)
@group(0) @binding(6) var<storage, read_write> out: array<f32>;   // [pairs, n] f32

override GGML: u32 = 0u;   // GGML_* (common/formats)
override MODE: u32 = 0u;   // 0 fused gate/up + silu, 1 single projection
override WG: u32 = 64u;
override LANES: u32 = 1u;  // invocations per output row; divides WG, power of two
const NONE = 0xffffffffu;

alias LaneSum = vec2<f32>;
var<workgroup> partial: array<LaneSum, WG>; // [WG] lane partials: x wa, x wb

var<private> wsel: u32;  // the buffer wword reads: 0 wa, 1 wb
var<private> x_row: u32; // index in x (vec4s) of this pair's row

fn wword(i: u32) -> u32 {
  if (wsel == 0u) { return wa[i]; }
  return wb[i];
}

#include "common/ggml_blocks.wgsl"
#include "common/lane_sum.wgsl"

// Weights 8u..8u+7 of the row, dotted with x.
fn dot8(w: Weights8, u: u32) -> f32 { return dot(w.lo, x[x_row + 2u * u]) + dot(w.hi, x[x_row + 2u * u + 1u]); }

// Unit u of the row from its levels q and its group's (a, b, c), dotted with x.
fn unit_dot(q: Weights8, m: vec3<f32>, u: u32) -> f32 { return dot8(ggml_apply(q, m), u); }

// x · the block at byte `at` of buffer b, whose first unit is unit j0 of the row.
fn block_dot(b: u32, at: u32, j0: u32) -> f32 {
  wsel = b;
  let h = ggml_head(at);
  let units = GGML_BLOCK_WEIGHTS[GGML] / 8u;
  var s = 0.0;
  if (ggml_share() == 1u) {
    for (var u = 0u; u < units; u++) { s += unit_dot(ggml_levels(h, at, u), ggml_scale(h, u / ggml_group_units()), j0 + u); }
    return s;
  }
  for (var t = 0u; t < units / ggml_share(); t++) {
    var q = ggml_shared(h, at, t);
    for (var i = 0u; i < ggml_share(); i++) {
      let u = ggml_shared_unit(t, i);
      s += unit_dot(q[i], ggml_scale(h, u / ggml_group_units()), j0 + u);
    }
  }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let lane = lid % LANES;
  let pair = wg.z;
  let slot = slots[ids[pair]];
  let live = row < params.n && slot != NONE;
  var acc = vec2<f32>(); // x · wa row, x · wb row
  if (live) {
    x_row = (pair / params.x_group) * (params.cols / 4u);
    let start = (slot * params.n + row) * ggml_row_bytes(params.cols);
    if (LANES == 1u) {
      let units = GGML_BLOCK_WEIGHTS[GGML] / 8u;
      for (var blk = 0u; blk < params.cols / GGML_BLOCK_WEIGHTS[GGML]; blk++) {
        let at = start + blk * GGML_BLOCK_BYTES[GGML];
        acc.x += block_dot(0u, at, blk * units);
        if (MODE == 0u) { acc.y += block_dot(1u, at, blk * units); }
      }
    } else {
      for (var u = lane; u < params.cols / 8u; u += LANES) {
        wsel = 0u;
        acc.x += dot8(ggml_unit(start, u), u);
        if (MODE == 0u) {
          wsel = 1u;
          acc.y += dot8(ggml_unit(start, u), u);
        }
      }
    }
  }
  acc = lane_sum(lid, lane, acc);
  if (!live || lane != 0u) { return; }
  var v = acc.x;
  if (MODE == 0u) { v = silu_gated(acc.x, acc.y); }
  out[pair * params.n + row] = v;
}
