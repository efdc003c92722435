// Paired outputs of a linear kernel, the gated MLP's (common/linear_io.wgsl, GATE_UP): the kernel computes outputs
// 2j and 2j + 1 in one invocation or workgroup and hands both to store_pair. weight_row(n): the row of W that
// output n reads (the identity here; common/linear_pairs_kv.wgsl permutes rows within heads).
override PAIRED: bool = GATE_UP;

fn weight_row(n: u32) -> u32 { return n; }

// outputs n (even) and n + 1: gate_j and up_j, j = n / 2
fn store_pair(m: u32, n: u32, a: f32, b: f32) {
  store_gate_up(m, n / 2u, a, b);
}
