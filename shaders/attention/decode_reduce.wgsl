// Split-K attention, pass 2 of 2: one workgroup per (head h, query row t), one invocation per 4 output dims,
// merges the row's key tiles (common/tile_merge.wgsl), in order from the one holding the row's first key (its
// window's start) to the one holding its own.
#include "common/attention_window.wgsl"

struct Params { startPos: u32, heads: u32, tiles: u32, window: u32, firstTile: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partO: array<vec4<f32>>;      // [tokens, heads, tiles, HEAD_DIM / 4], tile firstTile + j at j
@group(0) @binding(2) var<storage, read> partML: array<f32>;           // [tokens, heads, tiles, 2] (max, Σexp)
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;  // [tokens, heads, HEAD_DIM / 4]

override TILE: u32 = 64;
override HEAD_DIM: u32; // a multiple of 4
override LANES: u32 = HEAD_DIM / 4u;

var<private> base: u32; // the row's first partial

fn part_ml(j: u32) -> vec2<f32> { return vec2<f32>(partML[2u * (base + j)], partML[2u * (base + j) + 1u]); }
fn part_o(j: u32, lane: u32) -> vec4<f32> { return partO[(base + j) * LANES + lane]; }

#include "common/tile_merge.wgsl"

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let lane = lid.x;
  let h = wg.x;
  let t = wg.y;
  let row = t * params.heads + h;
  let pos = params.startPos + t;
  base = row * params.tiles;
  out[row * LANES + lane] = merge_tiles(window_start(pos, params.window) / TILE - params.firstTile, pos / TILE + 1u - params.firstTile, lane);
}
