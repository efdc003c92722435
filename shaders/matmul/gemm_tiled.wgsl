// y[m, n] (+)= x[m, :] · W[n, :] (+ bias[n]), optionally gated: silu(gate[m, n]) · (...), for many activation rows (prefill): each workgroup computes a
// BM x BN tile with R x R outputs per invocation held in registers; x and W tiles of TK columns are staged
// in workgroup memory, W decoded from its storage FORMAT while loading.
#include "common/quant.wgsl"
#include "common/linear_io.wgsl"

@group(0) @binding(1) var<storage, read> x: array<f32>;        // [rows, k] f32, from x_offset
@group(0) @binding(2) var<storage, read> w: array<u32>;        // [n, k] in FORMAT: f32 bits | f16/bf16 pairs [n, k/2] | q8 [n, k/4] | q4 [n, k/8]

override FORMAT: u32 = 0u; // FORMAT_* (common/formats)
override TX: u32 = 16u;    // invocations along n
override TY: u32 = 16u;    // invocations along m
const R = 4u;              // outputs per invocation along each of m and n
const TK = 16u;            // k columns per staged tile

var<workgroup> xs: array<vec4<f32>, TK * TY>; // [TK][BM/4]: x tile, k-major, 4 rows per vector
var<workgroup> ws: array<vec4<f32>, TK * TX>; // [TK][BN/4]: W tile, k-major, 4 outputs per vector

fn weight(n: u32, k: u32) -> f32 {
  let i = n * params.k + k;
  switch FORMAT {
    case FORMAT_F32: { return bitcast<f32>(w[i]); }
    case FORMAT_F16, FORMAT_BF16: { return unpack_16(w[i / 2u])[i & 1u]; }
    case FORMAT_Q8: { return unpack_q8(w[i / 4u])[i & 3u] * scales[i / QUANT_BLOCK]; }
    default: {
      let word = w[i / 8u];
      let nibble = f32((word >> (4u * (i & 7u))) & 15u) - 8.0;
      return nibble * scales[i / QUANT_BLOCK];
    }
  }
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let bm = TY * R;
  let bn = TX * R;
  let m0 = wg.y * bm;
  let n0 = wg.x * bn;
  let tid = lid.y * TX + lid.x;
  let threads = TX * TY;
  var acc: array<vec4<f32>, R>; // acc[i][j] = y[m0 + lid.y*R + i, n0 + lid.x*R + j]
  for (var k0 = 0u; k0 < params.k; k0 += TK) {
    // consecutive invocations read consecutive k of one row
    for (var e = tid; e < bm * TK; e += threads) {
      let mm = e / TK;
      let kk = e % TK;
      var v = 0.0;
      if (m0 + mm < params.rows && k0 + kk < params.k) { v = x[params.x_offset + (m0 + mm) * params.k + k0 + kk]; }
      xs[kk * TY + mm / R][mm % R] = v;
    }
    for (var e = tid; e < bn * TK; e += threads) {
      let nn = e / TK;
      let kk = e % TK;
      var v = 0.0;
      if (n0 + nn < params.n && k0 + kk < params.k) { v = weight(weight_row(n0 + nn), k0 + kk); }
      ws[kk * TX + nn / R][nn % R] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a = xs[kk * TY + lid.y];
      let b = ws[kk * TX + lid.x];
      for (var i = 0u; i < R; i++) { acc[i] += a[i] * b; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < R; i++) {
    let m = m0 + lid.y * R + i;
    if (m >= params.rows) { break; }
    for (var j = 0u; j < R; j++) {
      let n = n0 + lid.x * R + j;
      if (n >= params.n) { break; }
      if (!PAIRED) {
        store_output(m, n, acc[i][j]);
      } else if (j % 2u == 0u) {
        store_pair(m, n, acc[i][j], acc[i][j + 1u]); // n even, n + 1 its pair (R and the tile start are even)
      }
    }
  }
}
