// Split-K attention, pass 1 of 2: one workgroup per (key tile j, head h, query row t).
// Scores of the tile's keys, the tile max m_j and Σ exp(s − m_j), and the unnormalised partial output
// Σ exp(s − m_j)·v. Row t sits at absolute position startPos + t and sees keys 0..startPos + t.
// A row's work depends only on its position, never on how many rows share the dispatch, so a row computed
// alone and inside a verify block gives the same bits.
struct Params { startPos: u32, heads: u32, kvGroup: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;             // [tokens, heads, HEAD_DIM]
@group(0) @binding(2) var<storage, read> kCache: array<f32>;        // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(3) var<storage, read> vCache: array<f32>;        // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(4) var<storage, read_write> partO: array<f32>;   // [tokens, heads, tiles, HEAD_DIM]
@group(0) @binding(5) var<storage, read_write> partML: array<f32>;  // [tokens, heads, tiles, 2] (max, Σexp)

override TILE: u32 = 64; // keys per tile = threads per workgroup; a power of two
override HEAD_DIM: u32;
override SCALE: f32;

const LOWEST: f32 = -3.0e38; // below any score, and exp(LOWEST - s) is 0

var<workgroup> weights: array<f32, TILE>;
override WG: u32 = TILE; // the workgroup size, as common/workgroup_reduce.wgsl names it
#include "common/workgroup_reduce.wgsl"

@compute @workgroup_size(TILE)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lid = lidv.x;
  let j = wg.x;
  let h = wg.y;
  let t = wg.z;
  let tiles = nwg.x;
  let pos = params.startPos + t;
  let first = j * TILE;
  if (first > pos) { return; } // tile entirely in this row's future (uniform per workgroup)
  let keys = min(TILE, pos + 1u - first);
  let kvBase = (h / params.kvGroup) * params.maxSeq;
  let qBase = (t * params.heads + h) * HEAD_DIM;

  var s = LOWEST;
  if (lid < keys) {
    let kBase = (kvBase + first + lid) * HEAD_DIM;
    var dot = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) { dot += q[qBase + d] * kCache[kBase + d]; }
    s = dot * SCALE;
  }
  let m = workgroup_max(lid, s);
  var e = 0.0;
  if (lid < keys) { e = exp(s - m); }
  weights[lid] = e;
  let l = workgroup_sum(lid, e);

  let part = (t * params.heads + h) * tiles + j;
  for (var d = lid; d < HEAD_DIM; d += TILE) {
    var acc = 0.0;
    for (var k = 0u; k < keys; k++) { acc += weights[k] * vCache[(kvBase + first + k) * HEAD_DIM + d]; }
    partO[part * HEAD_DIM + d] = acc;
  }
  if (lid == 0u) {
    partML[2u * part] = m;
    partML[2u * part + 1u] = l;
  }
}
