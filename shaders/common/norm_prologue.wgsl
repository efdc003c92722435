// RMSNorm in a linear kernel's prologue (NORM): the kernel reads the raw rows of x and multiplies by
// norm(x) = w · x / sqrt(mean(x²) + eps) instead, with the bits misc/rmsnorm.wgsl would write for it at width
// NORM_WG: lane l < NORM_WG sums x[l]², x[l + NORM_WG]², ... in order and the lanes' sums meet in the tree of
// common/workgroup_reduce.wgsl, then each element is w[i] · (x[i] · inv). Every workgroup reduces its rows itself
// (k / NORM_WG loads per lane), so the normalised rows never reach memory.
// The includer defines WG (>= NORM_WG), MB, MB_MAX, the x binding (array<vec4<f32>>) and its params.k.
#include "common/rms_row.wgsl"

@group(0) @binding(7) var<storage, read> norm_w: array<vec4<f32>>; // [k/4] the RMSNorm weight (NORM only)

override NORM: bool = false;
override NORM_WG: u32 = 4u;     // the standalone RMSNorm's width (src/kernels/norm.ts rowReduceWidth), power of two
override NORM_EPS: f32 = 1e-6;

var<workgroup> norm_sums: array<f32, NORM_WG * MB_MAX>; // [row][NORM_WG] lane sums
var<private> norm_inv: array<f32, MB_MAX>;          // [row] 1 / sqrt(mean(x²) + eps)

// norm_inv for the rows starting at vector x_first (the rows follow each other, params.k long); uniform control
// flow (it holds barriers), every invocation of the workgroup calls it.
fn norm_prologue(lid: u32, x_first: u32) {
  if (lid < NORM_WG) {
    for (var r = 0u; r < MB; r++) {
      let base = 4u * x_first + r * params.k;
      var sum = 0.0;
      for (var i = lid; i < params.k; i += NORM_WG) {
        let v = x[(base + i) / 4u][(base + i) % 4u];
        sum += v * v;
      }
      norm_sums[r * NORM_WG + lid] = sum;
    }
  }
  for (var stride = NORM_WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      for (var r = 0u; r < MB; r++) { norm_sums[r * NORM_WG + lid] = norm_sums[r * NORM_WG + lid] + norm_sums[r * NORM_WG + lid + stride]; }
    }
  }
  workgroupBarrier();
  for (var r = 0u; r < MB; r++) { norm_inv[r] = inverseSqrt(norm_sums[r * NORM_WG] / f32(params.k) + NORM_EPS); }
}

// Vector j of row r normalised (a: its raw value), as the standalone RMSNorm computes it.
fn normed(a: vec4<f32>, r: u32, j: u32) -> vec4<f32> {
  if (!NORM) { return a; }
  var w = norm_w[j];
  if (WEIGHT_OFFSET != 0.0) { w = WEIGHT_OFFSET + w; }
  return w * (a * norm_inv[r]);
}
