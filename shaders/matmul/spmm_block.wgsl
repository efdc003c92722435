// Block-sparse weight (BSR) x dense activations: y[m, n] (+)= Σ_k x[m, k] · W[n, k] where W [n, k] is
// stored as its nonzero B x B blocks (pruned weights): block row r = outputs rB..rB+B holds blocks
// row_ptr[r]..row_ptr[r+1], block j covering columns col_idx[j]*B.., values row-major within the block.
// One invocation per output element; absent blocks cost nothing.
struct Params { rows: u32, n: u32, k: u32, block: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [rows, k] f32
@group(0) @binding(2) var<storage, read> row_ptr: array<u32>;      // [n / block + 1] u32 first block of each block row
@group(0) @binding(3) var<storage, read> col_idx: array<u32>;      // [blocks] u32 block column of each block
@group(0) @binding(4) var<storage, read> values: array<f32>;       // [blocks, block, block] f32
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [rows, n] f32

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (n >= params.n || m >= params.rows) { return; }
  let b = params.block;
  let r = n / b;
  let within = n % b;
  var acc = 0.0;
  for (var j = row_ptr[r]; j < row_ptr[r + 1u]; j++) {
    let k0 = col_idx[j] * b;
    let v0 = (j * b + within) * b;
    for (var kk = 0u; kk < b; kk++) { acc += x[m * params.k + k0 + kk] * values[v0 + kk]; }
  }
  let at = m * params.n + n;
  if (params.accumulate != 0u) { acc += y[at]; }
  y[at] = acc;
}
