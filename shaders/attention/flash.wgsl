// Prefill attention, flash style: one workgroup per (block of BQ query rows, head); each thread owns one query
// row and streams the keys in tiles of BK staged in workgroup memory. The thread's q row, output accumulator
// and tile scores also live in workgroup memory (slices indexed by thread): large private arrays are slow
// and fragile on CPU adapters. Online softmax, with an online softmax: per tile, m' = max(m, max s), o = o·e^(m−m') + Σ e^(s−m')·v, l likewise.
// Row t (position startPos + t) sees keys 0..startPos + t; the workgroup stops at its last row's bound.
struct Params { tokens: u32, startPos: u32, kvGroup: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;           // [tokens, heads, HEAD_DIM]
@group(0) @binding(2) var<storage, read> kCache: array<f32>;      // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(3) var<storage, read> vCache: array<f32>;      // [kvHeads, maxSeq, HEAD_DIM]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;   // [tokens, heads, HEAD_DIM]

override BQ: u32 = 64;    // query rows per workgroup = threads
override BK: u32 = 16;    // keys per staged tile
override HEAD_DIM: u32;
override SCALE: f32;

const LOWEST: f32 = -3.0e38; // below any score, and exp(LOWEST - s) is 0

var<workgroup> kTile: array<f32, BK * HEAD_DIM>;
var<workgroup> vTile: array<f32, BK * HEAD_DIM>;
var<workgroup> qRows: array<f32, BQ * HEAD_DIM>;  // q · SCALE, one row per thread
var<workgroup> accRows: array<f32, BQ * HEAD_DIM>; // unnormalised output, one row per thread
var<workgroup> scores: array<f32, BQ * BK>;

@compute @workgroup_size(BQ)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lid = lidv.x;
  let heads = nwg.y;
  let h = wg.y;
  let t = wg.x * BQ + lid;
  let isRow = t < params.tokens;
  let lastRow = min(params.tokens, (wg.x + 1u) * BQ) - 1u;
  let keyEnd = params.startPos + lastRow + 1u; // keys [0, keyEnd) matter to this workgroup
  let myEnd = params.startPos + t + 1u;        // keys [0, myEnd) matter to this row
  let kvBase = (h / params.kvGroup) * params.maxSeq;
  let qBase = (min(t, params.tokens - 1u) * heads + h) * HEAD_DIM;

  let row = lid * HEAD_DIM;
  for (var d = 0u; d < HEAD_DIM; d++) {
    qRows[row + d] = q[qBase + d] * SCALE;
    accRows[row + d] = 0.0;
  }
  var m = LOWEST;
  var l = 0.0;

  for (var k0 = 0u; k0 < keyEnd; k0 += BK) {
    let staged = min(BK, keyEnd - k0);
    for (var i = lid; i < staged * HEAD_DIM; i += BQ) {
      let at = (kvBase + k0) * HEAD_DIM + i;
      kTile[i] = kCache[at];
      vTile[i] = vCache[at];
    }
    workgroupBarrier();
    let mine = select(0u, min(staged, myEnd - min(myEnd, k0)), isRow);
    var tileMax = m;
    for (var k = 0u; k < mine; k++) {
      var dot = 0.0;
      for (var d = 0u; d < HEAD_DIM; d++) { dot += qRows[row + d] * kTile[k * HEAD_DIM + d]; }
      scores[lid * BK + k] = dot;
      tileMax = max(tileMax, dot);
    }
    if (mine > 0u) {
      let rescale = exp(m - tileMax);
      l *= rescale;
      for (var d = 0u; d < HEAD_DIM; d++) { accRows[row + d] *= rescale; }
      for (var k = 0u; k < mine; k++) {
        let p = exp(scores[lid * BK + k] - tileMax);
        l += p;
        for (var d = 0u; d < HEAD_DIM; d++) { accRows[row + d] += p * vTile[k * HEAD_DIM + d]; }
      }
      m = tileMax;
    }
    workgroupBarrier();
  }
  if (isRow) {
    let oBase = (t * heads + h) * HEAD_DIM;
    for (var d = 0u; d < HEAD_DIM; d++) { out[oBase + d] = accRows[row + d] / l; }
  }
}
