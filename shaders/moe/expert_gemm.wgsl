// Prefill path of the MoE MLP: one grouped GEMM over the (token, expert) pairs sorted by expert. Workgroup
// (x, y) computes output columns x*BN.. of tile y of the plan's tile table; a tile is up to BM consecutive
// sorted rows that all use one expert, so each workgroup reads one expert's weights. Rows are gathered
// from the token rows (gather_x = 1: x row = token of the sorted pair) or read in sorted order (down).
// MODE 0: out = silu(x·Wgᵀ) * (x·Wuᵀ); MODE 1: out = x·Waᵀ. Empty tiles and experts without a slot
// (NONE: not resident in this round) exit at once. Weights are in a dense FORMAT, or (GGUF) rows of GGUF blocks
// (GGML, a GGML_* code of common/formats) staged 8 at a time by common/ggml_blocks.wgsl.
#include "common/quant.wgsl"
#include "common/silu.wgsl"

struct Params { n: u32, cols: u32, k: u32, gather_x: u32, tiles_at: u32, sorted_at: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [tokens, cols] (gather_x) or [pairs, cols] in sorted order, f32
@group(0) @binding(2) var<storage, read> plan: array<u32>;       // routing plan (shaders/moe/expert_count_scan.wgsl)
@group(0) @binding(3) var<storage, read> slots: array<u32>;      // [experts] u32 expert -> block of n rows in wa/wb, or NONE
@group(0) @binding(4) var<storage, read> wa: array<u32>;         // [slots * n, cols] in FORMAT or GGML blocks (gate, or the single projection)
@group(0) @binding(5) var<storage, read> sa: array<f32>;         // [slots * n, cols / 32] f32 scales (q8/q4)
@group(0) @binding(6) var<storage, read> wb: array<u32>;         // [slots * n, cols] in FORMAT or GGML blocks (up; unused in MODE 1)
@group(0) @binding(7) var<storage, read> sb: array<f32>;         // [slots * n, cols / 32] f32 scales (unused in MODE 1)
@group(0) @binding(8) var<storage, read_write> out: array<f32>;  // [pairs, n] f32 in sorted order

override FORMAT: u32 = 0u; // FORMAT_* (common/formats), unless GGUF
override GGUF: bool = false; // weights in GGUF blocks of type GGML
override GGML: u32 = 0u;   // GGML_* (common/formats)
override MODE: u32 = 0u;   // 0 fused gate/up + silu, 1 single projection
override TX: u32 = 16u;    // invocations along n
override TY: u32 = 4u;     // invocations along rows: BM = TY * R rows per tile
const R = 4u;              // outputs per invocation along rows and along n
const TK = 16u;            // k columns per staged tile
const NONE = 0xffffffffu;

var<workgroup> tile: vec3<u32>;                   // (slot, first sorted row, rows)
var<workgroup> xs: array<vec4<f32>, TK * TY>;     // [TK][BM/4] x tile, k-major
var<workgroup> wsa: array<vec4<f32>, TK * TX>;    // [TK][BN/4] wa tile, k-major
var<workgroup> wsb: array<vec4<f32>, TK * TX>;    // [TK][BN/4] wb tile (MODE 0)

#include "common/expert_pair.wgsl"

var<private> wsel: u32; // the buffer wword reads: 0 wa, 1 wb
fn wword(i: u32) -> u32 { return word(wsel, i); }

#include "common/ggml_blocks.wgsl"

// Weights 8j..8j+7 of row `row` of GGUF weight buffer b.
fn weight_unit(b: u32, row: u32, j: u32) -> Weights8 {
  wsel = b;
  return ggml_unit(row * ggml_row_bytes(params.cols), j);
}

// Stages wa/wb rows n0.. of the GGUF weights, columns k0..k0+TK, a unit of 8 per step (k is whole blocks, so whole tiles).
fn stage_gguf(tid: u32, w0: u32, n0: u32, k0: u32) {
  let bn = TX * R;
  for (var e = tid; e < bn * (TK / 8u); e += TX * TY) {
    let nn = e / (TK / 8u);
    let kk = 8u * (e % (TK / 8u));
    var ua = Weights8(vec4<f32>(0.0), vec4<f32>(0.0));
    var ub = ua;
    if (n0 + nn < params.n) {
      ua = weight_unit(0u, w0 + n0 + nn, (k0 + kk) / 8u);
      if (MODE == 0u) { ub = weight_unit(1u, w0 + n0 + nn, (k0 + kk) / 8u); }
    }
    for (var i = 0u; i < 4u; i++) {
      wsa[(kk + i) * TX + nn / R][nn % R] = ua.lo[i];
      wsa[(kk + 4u + i) * TX + nn / R][nn % R] = ua.hi[i];
      wsb[(kk + i) * TX + nn / R][nn % R] = ub.lo[i];
      wsb[(kk + 4u + i) * TX + nn / R][nn % R] = ub.hi[i];
    }
  }
}

// Element (row, k) of weight buffer b, decoded to f32.
fn weight(b: u32, row: u32, k: u32) -> f32 {
  let i = row * params.cols + k;
  switch FORMAT {
    case FORMAT_F32: { return bitcast<f32>(word(b, i)); }
    case FORMAT_F16, FORMAT_BF16: { return unpack_16(word(b, i / 2u))[i & 1u]; }
    case FORMAT_Q8: { return unpack_q8(word(b, i / 4u))[i & 3u] * scale(b, i / QUANT_BLOCK); }
    default: {
      let nibble = f32((word(b, i / 8u) >> (4u * (i & 7u))) & 15u) - 8.0;
      return nibble * scale(b, i / QUANT_BLOCK);
    }
  }
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let tid = lid.y * TX + lid.x;
  if (tid == 0u) {
    let at = params.tiles_at + 3u * wg.y;
    let rows = plan[at + 2u];
    var slot = NONE;
    if (rows > 0u) { slot = slots[plan[at]]; }
    tile = vec3<u32>(slot, plan[at + 1u], rows);
  }
  let t = workgroupUniformLoad(&tile);
  if (t.z == 0u || t.x == NONE) { return; }
  let bm = TY * R;
  let bn = TX * R;
  let m0 = t.y;
  let rows = t.z;
  let n0 = wg.x * bn;
  let w0 = t.x * params.n;
  let threads = TX * TY;
  var acc_a: array<vec4<f32>, R>; // acc_a[i][j] = out[m0 + lid.y*R + i, n0 + lid.x*R + j]
  var acc_b: array<vec4<f32>, R>;
  for (var k0 = 0u; k0 < params.cols; k0 += TK) {
    for (var e = tid; e < bm * TK; e += threads) {
      let mm = e / TK;
      let kk = e % TK;
      var v = 0.0;
      if (mm < rows && k0 + kk < params.cols) {
        var xr = m0 + mm;
        if (params.gather_x != 0u) { xr = plan[params.sorted_at + xr] / params.k; }
        v = x[xr * params.cols + k0 + kk];
      }
      xs[kk * TY + mm / R][mm % R] = v;
    }
    for (var e = tid; e < bn * TK && !GGUF; e += threads) {
      let nn = e / TK;
      let kk = e % TK;
      var va = 0.0;
      var vb = 0.0;
      if (n0 + nn < params.n && k0 + kk < params.cols) {
        va = weight(0u, w0 + n0 + nn, k0 + kk);
        if (MODE == 0u) { vb = weight(1u, w0 + n0 + nn, k0 + kk); }
      }
      wsa[kk * TX + nn / R][nn % R] = va;
      wsb[kk * TX + nn / R][nn % R] = vb;
    }
    if (GGUF) { stage_gguf(tid, w0, n0, k0); }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a = xs[kk * TY + lid.y];
      let ba = wsa[kk * TX + lid.x];
      for (var i = 0u; i < R; i++) { acc_a[i] += a[i] * ba; }
      if (MODE == 0u) {
        let bb = wsb[kk * TX + lid.x];
        for (var i = 0u; i < R; i++) { acc_b[i] += a[i] * bb; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < R; i++) {
    let m = lid.y * R + i;
    if (m >= rows) { break; }
    for (var j = 0u; j < R; j++) {
      let n = n0 + lid.x * R + j;
      if (n >= params.n) { break; }
      var v = acc_a[i][j];
      if (MODE == 0u) { v = silu_gated(v, acc_b[i][j]); }
      out[(m0 + m) * params.n + n] = v;
    }
  }
}
