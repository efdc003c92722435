// Split-K attention, pass 2 of 2: one workgroup per (head h, query row t), one invocation per 4 output dims,
// merges the row's key tiles, rescaling each by exp(m_j − M): out = Σ_j exp(m_j − M)·o_j / Σ_j exp(m_j − M)·l_j,
// tiles in order from the one holding the row's first key (its window's start) to the one holding its own.
#include "common/attention_window.wgsl"

struct Params { startPos: u32, heads: u32, tiles: u32, window: u32, firstTile: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partO: array<vec4<f32>>;      // [tokens, heads, tiles, HEAD_DIM / 4], tile firstTile + j at j
@group(0) @binding(2) var<storage, read> partML: array<f32>;           // [tokens, heads, tiles, 2] (max, Σexp)
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;  // [tokens, heads, HEAD_DIM / 4]

override TILE: u32 = 64;
override HEAD_DIM: u32; // a multiple of 4
override LANES: u32 = HEAD_DIM / 4u;

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let lane = lid.x;
  let h = wg.x;
  let t = wg.y;
  let row = t * params.heads + h;
  let pos = params.startPos + t;
  let rowFirst = window_start(pos, params.window) / TILE - params.firstTile;
  let rowEnd = pos / TILE + 1u - params.firstTile;
  let base = row * params.tiles;
  if (rowEnd - rowFirst == 1u) { // one tile: o / l, the bits of the partial kernels' DIRECT pass
    out[row * LANES + lane] = partO[(base + rowFirst) * LANES + lane] / partML[2u * (base + rowFirst) + 1u];
    return;
  }
  var mMax = partML[2u * (base + rowFirst)];
  for (var j = rowFirst + 1u; j < rowEnd; j++) { mMax = max(mMax, partML[2u * (base + j)]); }
  var denom = 0.0;
  var acc = vec4(0.0);
  for (var j = rowFirst; j < rowEnd; j++) {
    let w = exp(partML[2u * (base + j)] - mMax);
    denom += w * partML[2u * (base + j) + 1u];
    acc += w * partO[(base + j) * LANES + lane];
  }
  out[row * LANES + lane] = acc / denom;
}
