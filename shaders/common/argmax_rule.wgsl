// The greedy pick's rule, shared by every argmax: the largest value wins, ties go to the lowest index.
const ARGMAX_NONE: u32 = 0xffffffffu; // no candidate (and no token)

// true when candidate (v, i) beats (bv, bi): anything beats ARGMAX_NONE (so -inf rows still pick index 0),
// otherwise a larger value, or an equal value at a lower index
fn argmax_beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return i != ARGMAX_NONE && (bi == ARGMAX_NONE || v > bv || (v == bv && i < bi));
}
