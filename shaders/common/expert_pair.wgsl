// Accessors over the two expert weight buffers of a projection pair (wa/sa: gate or the single
// projection, wb/sb: up), which the including shader binds under these names.
fn word(b: u32, i: u32) -> u32 {
  if (b == 0u) { return wa[i]; }
  return wb[i];
}

fn scale(b: u32, i: u32) -> f32 {
  if (b == 0u) { return sa[i]; }
  return sb[i];
}
