// Split-K attention, pass 1 of 2: one workgroup per (key tile j, head h, query row t), one invocation per
// 4 output dims. Scores of the tile's keys, the tile max m_j and Σ exp(s − m_j), and the unnormalised
// partial output Σ exp(s − m_j)·v. Row t sits at absolute position startPos + t and sees keys
// window_start(startPos + t)..startPos + t (common/attention_window.wgsl). Tiles start at absolute multiples of
// TILE; the grid covers tiles firstTile.. (the block's first row's window), and a tile wholly outside a row's
// keys returns at once. A row's work depends only on its position, never on how many rows share the dispatch, so
// a row computed alone and inside a verify block gives the same bits.
// Every load is a 16-byte vector, and the only barrier is the one after the scores: every invocation
// reads the tile's scores from workgroup memory in the same order, so m_j and Σexp need no reduction
// tree (on CPU adapters each load is a gather and each barrier a switch between invocation groups).
// DIRECT: every row has a single tile (a context of at most TILE keys), so the kernel writes the row's output
// o / l itself, the bits decode_reduce.wgsl gives a single-tile row, and no second pass runs.
#include "common/attention_window.wgsl"
#include "common/attention_score.wgsl"
#include "common/attention_io.wgsl"

struct Params { startPos: u32, heads: u32, kvGroup: u32, maxSeq: u32, window: u32, firstTile: u32 }
// bindings 0-3 (params, q, kCache, vCache): common/attention_io.wgsl
@group(0) @binding(4) var<storage, read_write> partO: array<vec4<f32>>;   // [tokens, heads, tiles, HEAD_DIM / 4], tile firstTile + j at j; DIRECT: the output [tokens, heads, HEAD_DIM / 4]
@group(0) @binding(5) var<storage, read_write> partML: array<f32>;        // [tokens, heads, tiles, 2] (max, Σexp)

override TILE: u32 = 64;       // keys per tile; LANES invocations per workgroup, one per vec4 of the head
override DIRECT: bool = false;       // one tile per row (tiles = 1): write the normalised output, no partials

var<workgroup> scores: array<f32, TILE>;

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lidv.x;
  let h = wg.y;
  let t = wg.z;
  let tiles = nwg.x;
  let pos = params.startPos + t;
  let range = tile_keys(pos, params.window, (params.firstTile + wg.x) * TILE, TILE);
  if (range.keys == 0u) { return; } // tile in this row's future or before its window (uniform per workgroup)
  let start = range.start;
  let keys = range.keys;
  let headBase = (h / params.kvGroup) * params.maxSeq; // slot 0 of this head's cache
  let startSlot = cache_slot(start, params.maxSeq);     // key `start`; keys < maxSeq, so slot_after wraps at most once
  let qBase = (t * params.heads + h) * LANES;

  // lane i scores keys i, i + LANES, ...
  for (var k = lane; k < keys; k += LANES) {
    let kBase = (headBase + slot_after(startSlot, k, params.maxSeq)) * LANES;
    var dot = vec4(0.0);
    for (var c = 0u; c < LANES; c++) { dot += q[qBase + c] * kCache[kBase + c]; }
    scores[k] = attention_score(dot);
  }
  workgroupBarrier();

  var m = LOWEST;
  for (var k = 0u; k < keys; k++) { m = max(m, scores[k]); }
  var l = 0.0;
  var o = vec4(0.0);
  var slot = startSlot;
  for (var k = 0u; k < keys; k++) {
    let p = exp(scores[k] - m);
    l += p;
    o += p * vCache[(headBase + slot) * LANES + lane];
    slot = slot_after(slot, 1u, params.maxSeq);
  }
  let part = (t * params.heads + h) * tiles + wg.x;
  if (DIRECT) {
    partO[part * LANES + lane] = o / l;
    return;
  }
  partO[part * LANES + lane] = o;
  if (lane == 0u) {
    partML[2u * part] = m;
    partML[2u * part + 1u] = l;
  }
}
