// Split-K attention, pass 2 of 2: one workgroup per (head h, query row t) merges the row's key tiles,
// rescaling each by exp(m_j − M): out = Σ_j exp(m_j − M)·o_j / Σ_j exp(m_j − M)·l_j, tiles in order.
struct Params { startPos: u32, heads: u32, tiles: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partO: array<f32>;        // [tokens, heads, tiles, HEAD_DIM]
@group(0) @binding(2) var<storage, read> partML: array<f32>;       // [tokens, heads, tiles, 2] (max, Σexp)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [tokens, heads, HEAD_DIM]

override WG: u32 = 64;
override TILE: u32 = 64;
override HEAD_DIM: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.x;
  let t = wg.y;
  let row = t * params.heads + h;
  let rowTiles = (params.startPos + t) / TILE + 1u;
  let base = row * params.tiles;
  var mMax = partML[2u * base];
  for (var j = 1u; j < rowTiles; j++) { mMax = max(mMax, partML[2u * (base + j)]); }
  var denom = 0.0;
  for (var j = 0u; j < rowTiles; j++) { denom += exp(partML[2u * (base + j)] - mMax) * partML[2u * (base + j) + 1u]; }
  for (var d = lid.x; d < HEAD_DIM; d += WG) {
    var acc = 0.0;
    for (var j = 0u; j < rowTiles; j++) { acc += exp(partML[2u * (base + j)] - mMax) * partO[(base + j) * HEAD_DIM + d]; }
    out[row * HEAD_DIM + d] = acc / denom;
  }
}
