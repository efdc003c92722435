// Split-K attention's merge of one row's key tiles (attention/decode_reduce.wgsl, attention/qkv_decode.wgsl):
// out = Σ_j exp(m_j − M)·o_j / Σ_j exp(m_j − M)·l_j over tiles j = first..end − 1 in order, M = max m_j; a single
// tile gives o / l, the bits of the partial kernels' DIRECT pass. The includer defines part_ml(j) -> (m_j, l_j) and
// part_o(j, lane) -> vector `lane` of tile j's unnormalised output Σ exp(s − m_j)·v.
fn merge_tiles(first: u32, end: u32, lane: u32) -> vec4<f32> {
  if (end - first == 1u) { return part_o(first, lane) / part_ml(first).y; }
  var mMax = part_ml(first).x;
  for (var j = first + 1u; j < end; j++) { mMax = max(mMax, part_ml(j).x); }
  var denom = 0.0;
  var acc = vec4(0.0);
  for (var j = first; j < end; j++) {
    let ml = part_ml(j);
    let w = exp(ml.x - mMax);
    denom += w * ml.y;
    acc += w * part_o(j, lane);
  }
  return acc / denom;
}
