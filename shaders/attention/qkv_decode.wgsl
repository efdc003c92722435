// One decode row's q/k/v projection and its attention in one dispatch, for CPU adapters and a context of one
// split-K tile: one workgroup per kv head g, which computes the rows of the stacked q/k/v matrix its heads need
// (q of heads gG..gG + G − 1, k and v of kv head g; G = heads / kvHeads) with the register-blocked gemv
// (common/gemv_rows.wgsl, the RMSNorm prologue under NORM) and stores them through the RoPE + KV append epilogue
// (common/linear_pairs_kv.wgsl, substituted for common/linear_pairs.wgsl: q rotated into y, k and v into the cache
// rows), then, after a storage barrier, runs attention/decode_partial_serial.wgsl's DIRECT pass for its G heads
// (common/head_registers.wgsl), each head's output written over its own q in y. Every value is computed by the
// same code in the same order as gemv_blocked then decode_partial_serial, so the row's bits equal theirs (and a
// verify block's row through them). The caller (src/kernels/linear.ts) guarantees one row, HEAD_DIM % 4 == 0,
// HEAD_DIM <= 128 and keys window_start(pos)..pos within one TILE-aligned tile.
#include "common/gemv_rows.wgsl"
#include "common/head_registers.wgsl"

override TILE: u32 = 32u;                  // the serial split-K tile (src/kernels/attention.ts SPLIT_K_TILE)
override WINDOW: u32 = 0u;                 // the layer's sliding window (0: none; common/attention_window.wgsl)
override LANES: u32 = HEAD_DIM / 4u;       // vec4s per head
override GROUP: u32 = SPLIT_A / SPLIT_B;   // q heads per kv head

// the head accessors of common/head_registers.wgsl: q and the output in y [heads, HEAD_DIM], the caches in gate and y3
fn q_vec(i: u32) -> vec4<f32> { return vec4<f32>(y[4u * i], y[4u * i + 1u], y[4u * i + 2u], y[4u * i + 3u]); }
fn k_vec(i: u32) -> vec4<f32> { return vec4<f32>(gate[4u * i], gate[4u * i + 1u], gate[4u * i + 2u], gate[4u * i + 3u]); }
fn v_vec(i: u32) -> vec4<f32> { return vec4<f32>(y3[4u * i], y3[4u * i + 1u], y3[4u * i + 2u], y3[4u * i + 3u]); }
fn set_out(i: u32, v: vec4<f32>) {
  y[4u * i] = v.x;
  y[4u * i + 1u] = v.y;
  y[4u * i + 2u] = v.z;
  y[4u * i + 3u] = v.w;
}

// The stacked output of kv head g's row b (b < (GROUP + 2) · HEAD_DIM): its q rows, then its k rows, then its v rows.
fn group_output(g: u32, b: u32) -> u32 {
  let qRows = GROUP * HEAD_DIM;
  if (b < qRows) { return g * qRows + b; }
  if (b < qRows + HEAD_DIM) { return SPLIT_A + g * HEAD_DIM + b - qRows; }
  return SPLIT_A + SPLIT_B + g * HEAD_DIM + b - qRows - HEAD_DIM;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = wg.x;
  x_row0 = params.x_offset / 4u;
  x_row_len = params.k / 4u;
  if (NORM) { norm_prologue(lid, x_row0); }
  let rows = (GROUP + 2u) * HEAD_DIM;
  for (var block = 0u; block < (rows + WG * OUTPUTS - 1u) / (WG * OUTPUTS); block++) {
    let b = (block * WG + lid) * OUTPUTS;
    if (b < rows) {
      let n0 = group_output(g, b);
      s[0] = vec4<f32>(0.0); // gemv_blocked's sums start at zero
      dot_outputs(n0);
      for (var i = 0u; i < OUTPUTS; i += 2u) { store_pair(0u, n0 + i, s[0][i], s[0][i + 1u]); }
    }
  }
  storageBarrier(); // this workgroup's q, k and v rows are written
  let pos = params.start_pos;
  let range = tile_keys(pos, WINDOW, window_start(pos, WINDOW) / TILE * TILE, TILE);
  for (var hl = lid; hl < GROUP; hl += WG) {
    let h = g * GROUP + hl;
    start_row(h * LANES);
    var slot = cache_slot(range.start, params.cache_slots);
    for (var key = 0u; key < range.keys; key++) {
      fold_key((g * params.cache_slots + slot) * LANES);
      slot = slot_after(slot, 1u, params.cache_slots);
    }
    store_o(h * LANES, l);
  }
}
