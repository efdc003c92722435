// Split-K attention, pass 1 of 2, for CPU adapters and heads up to 128: one invocation per (head h, key tile j,
// query row t), (h, j) flattened so that neighbouring invocations (a CPU's SIMD lanes) are busy even when a row
// has a single tile, keeps the row's q and the tile's output accumulator in registers and folds the tile's keys in
// order (common/head_registers.wgsl): per key one pass over k and one over v, no workgroup memory, no barrier.
// Writes the same partials as decode_partial.wgsl, which spreads a tile over HEAD_DIM / 4 invocations (GPUs):
// the tile max m_j, Σ exp(s − m_j) and the unnormalised Σ exp(s − m_j)·v, for the same tiles (firstTile + j) and
// keys (window_start(startPos + t)..startPos + t for row t). A row's work depends only on its position, never on
// how many rows share the dispatch, so a row computed alone and inside a verify block gives the same bits.
// DIRECT: every row has a single tile (a context of at most TILE keys), so the kernel writes the row's output
// o / l itself, the bits decode_reduce.wgsl gives a single-tile row, and no second pass runs.
#include "common/attention_window.wgsl"
#include "common/attention_io.wgsl"

struct Params { startPos: u32, heads: u32, kvGroup: u32, maxSeq: u32, tiles: u32, window: u32, firstTile: u32 }
// bindings 0-3 (params, q, kCache, vCache): common/attention_io.wgsl
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;     // [tokens, heads, tiles, HEAD_DIM / 4] partial outputs, tile firstTile + j at j; DIRECT: [tokens, heads, HEAD_DIM / 4]
@group(0) @binding(5) var<storage, read_write> partML: array<f32>;        // [tokens, heads, tiles, 2] (max, Σexp)
fn set_out(i: u32, v: vec4<f32>) { out[i] = v; } // common/head_registers.wgsl's output

override WG: u32 = 4;                // (head, tile) pairs per workgroup
override TILE: u32 = 64;             // keys per tile
override DIRECT: bool = false;       // one tile per row (tiles = 1): write the normalised output, no partials

#include "common/head_registers.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.heads * params.tiles) { return; } // past the grid
  let h = gid.x / params.tiles;
  let j = gid.x % params.tiles;
  let t = gid.y;
  let pos = params.startPos + t;
  let range = tile_keys(pos, params.window, (params.firstTile + j) * TILE, TILE);
  if (range.keys == 0u) { return; } // a tile in this row's future or before its window
  let headBase = (h / params.kvGroup) * params.maxSeq;
  start_row((t * params.heads + h) * LANES);
  var slot = cache_slot(range.start, params.maxSeq);
  for (var k = 0u; k < range.keys; k++) {
    fold_key((headBase + slot) * LANES);
    slot = slot_after(slot, 1u, params.maxSeq);
  }
  let part = (t * params.heads + h) * params.tiles + j;
  if (DIRECT) {
    store_o(part * LANES, l);
    return;
  }
  store_o(part * LANES, 1.0);
  partML[2u * part] = m;
  partML[2u * part + 1u] = l;
}
