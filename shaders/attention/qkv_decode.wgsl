// One decode row's q/k/v projection and its attention in one dispatch, for CPU adapters: one workgroup per kv
// head g, which computes the rows of the stacked q/k/v matrix its heads need (q of heads gG..gG + G − 1, k and v
// of kv head g; G = heads / kvHeads) with the register-blocked gemv (common/gemv_rows.wgsl, the RMSNorm prologue
// under NORM) and stores them through the RoPE + KV append epilogue (common/linear_pairs_kv.wgsl, substituted for
// common/linear_pairs.wgsl: q rotated into y, k and v into the cache rows); then, after a storage barrier, the
// split-K attention of its G heads: one invocation per (head, key tile) as attention/decode_partial_serial.wgsl
// (common/head_registers.wgsl), the partials in workgroup memory, and after a barrier their merge as
// attention/decode_reduce.wgsl (common/tile_merge.wgsl), each head's output written over its own q in y. Every
// value is computed by the same code in the same order as those kernels, so the row's bits equal theirs (and a
// verify block's row through them). The caller (src/kernels/linear.ts) guarantees one row, HEAD_DIM % 4 == 0,
// HEAD_DIM <= 128 and at most MAX_TILES tiles of keys for the row.
#include "common/gemv_rows.wgsl"
#include "common/head_registers.wgsl"

override TILE: u32 = 32u;                  // the serial split-K tile (src/kernels/attention.ts SPLIT_K_TILE)
override WINDOW: u32 = 0u;                 // the layer's sliding window (0: none; common/attention_window.wgsl)
override LANES: u32 = HEAD_DIM / 4u;       // vec4s per head
override GROUP: u32 = SPLIT_A / SPLIT_B;   // q heads per kv head
override MAX_TILES: u32 = 1u;              // key tiles per head the workgroup memory holds

var<workgroup> tile_o: array<vec4<f32>, GROUP * MAX_TILES * LANES>; // [head in group, tile, LANES] unnormalised outputs
var<workgroup> tile_ml: array<vec2<f32>, GROUP * MAX_TILES>;        // [head in group, tile] (max, Σexp)
var<private> part_base: u32; // the merged head's first tile in tile_o / tile_ml

// the head accessors of common/head_registers.wgsl (q in y [heads, HEAD_DIM], the caches in gate and y3; a tile's
// output into workgroup memory) and common/tile_merge.wgsl's
fn q_vec(i: u32) -> vec4<f32> { return vec4<f32>(y[4u * i], y[4u * i + 1u], y[4u * i + 2u], y[4u * i + 3u]); }
fn k_vec(i: u32) -> vec4<f32> { return vec4<f32>(gate[4u * i], gate[4u * i + 1u], gate[4u * i + 2u], gate[4u * i + 3u]); }
fn v_vec(i: u32) -> vec4<f32> { return vec4<f32>(y3[4u * i], y3[4u * i + 1u], y3[4u * i + 2u], y3[4u * i + 3u]); }
fn set_out(i: u32, v: vec4<f32>) { tile_o[i] = v; }
fn part_ml(j: u32) -> vec2<f32> { return tile_ml[part_base + j]; }
fn part_o(j: u32, lane: u32) -> vec4<f32> { return tile_o[(part_base + j) * LANES + lane]; }

#include "common/tile_merge.wgsl"

// The stacked output of kv head g's row b (b < (GROUP + 2) · HEAD_DIM): its q rows, then its k rows, then its v rows.
fn group_output(g: u32, b: u32) -> u32 {
  let qRows = GROUP * HEAD_DIM;
  if (b < qRows) { return g * qRows + b; }
  if (b < qRows + HEAD_DIM) { return SPLIT_A + g * HEAD_DIM + b - qRows; }
  return SPLIT_A + SPLIT_B + g * HEAD_DIM + b - qRows - HEAD_DIM;
}

// Tile `tile` of head gG + hl for the row at params.start_pos, as decode_partial_serial: its partial at tile_o /
// tile_ml [hl, j].
fn attend_tile(g: u32, hl: u32, tile: u32, j: u32) {
  let range = tile_keys(params.start_pos, WINDOW, tile * TILE, TILE);
  start_row((g * GROUP + hl) * LANES);
  var slot = cache_slot(range.start, params.cache_slots);
  for (var key = 0u; key < range.keys; key++) {
    fold_key((g * params.cache_slots + slot) * LANES);
    slot = slot_after(slot, 1u, params.cache_slots);
  }
  let part = hl * MAX_TILES + j;
  store_o(part * LANES, 1.0);
  tile_ml[part] = vec2<f32>(m, l);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.x;
  x_row0 = params.x_offset / 4u;
  x_row_len = params.k / 4u;
  if (NORM) { norm_prologue(lid, x_row0); }
  let rows = (GROUP + 2u) * HEAD_DIM;
  for (var block = 0u; block < (rows + WG * OUTPUTS - 1u) / (WG * OUTPUTS); block++) {
    let b = (block * WG + lid) * OUTPUTS;
    if (b < rows) {
      let n0 = group_output(g, b);
      s[0] = vec4<f32>(0.0); // gemv_blocked's sums start at zero
      dot_outputs(n0);
      for (var i = 0u; i < OUTPUTS; i += 2u) { store_pair(0u, n0 + i, s[0][i], s[0][i + 1u]); }
    }
  }
  storageBarrier(); // this workgroup's q, k and v rows are written
  let pos = params.start_pos;
  let first = window_start(pos, WINDOW) / TILE;
  let tiles = pos / TILE + 1u - first;
  for (var round = 0u; round < (GROUP * tiles + WG - 1u) / WG; round++) {
    let p = round * WG + lid; // (head, tile) pairs
    if (p < GROUP * tiles) { attend_tile(g, p / tiles, first + p % tiles, p % tiles); }
  }
  storageBarrier(); // every q read before the outputs overwrite it
  workgroupBarrier();
  for (var p = lid; p < GROUP * LANES; p += WG) { // (head, output vector) pairs
    let hl = p / LANES;
    let lane = p % LANES;
    part_base = hl * MAX_TILES;
    let v = merge_tiles(0u, tiles, lane);
    let at = (g * GROUP + hl) * HEAD_DIM + 4u * lane;
    y[at] = v.x;
    y[at + 1u] = v.y;
    y[at + 2u] = v.z;
    y[at + 3u] = v.w;
  }
}
