// Counting sort of (token, expert) pairs, part 1 (one workgroup): histogram of the chosen expert ids,
// exclusive prefix sums of the counts (each expert's first row in sorted order) and of the tiles each
// expert needs (count rounded up to tile_rows), then the per-tile table the grouped GEMM dispatches over.
// No pair is ever dropped: every expert gets as many tiles as its count needs.
// Plan layout (u32): offsets [experts + 1] at 0 | tiles [max_tiles, 3] = (expert, first row, rows) at
// tiles_at | sorted pairs [pairs] | inverse [pairs] (written by expert_scatter).
struct Params { pairs: u32, experts: u32, tile_rows: u32, max_tiles: u32, tiles_at: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;        // [pairs] u32 expert id of pair p = token * k + j
@group(0) @binding(2) var<storage, read_write> plan: array<u32>; // routing plan, layout above

override WG: u32 = 256u; // >= experts

var<workgroup> counts: array<atomic<u32>, WG>;
var<workgroup> row_scan: array<u32, WG>;
var<workgroup> tile_scan: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var p = lid; p < params.pairs; p += WG) { atomicAdd(&counts[ids[p]], 1u); }
  workgroupBarrier();
  let count = atomicLoad(&counts[lid]);
  let tiles = (count + params.tile_rows - 1u) / params.tile_rows;
  row_scan[lid] = count;
  tile_scan[lid] = tiles;
  for (var offset = 1u; offset < WG; offset *= 2u) {
    workgroupBarrier();
    var rows_before = 0u;
    var tiles_before = 0u;
    if (lid >= offset) {
      rows_before = row_scan[lid - offset];
      tiles_before = tile_scan[lid - offset];
    }
    workgroupBarrier();
    row_scan[lid] += rows_before;
    tile_scan[lid] += tiles_before;
  }
  workgroupBarrier();
  let first_row = row_scan[lid] - count;
  let first_tile = tile_scan[lid] - tiles;
  if (lid < params.experts) { plan[lid] = first_row; }
  if (lid == params.experts - 1u) { plan[params.experts] = row_scan[lid]; }
  for (var j = 0u; j < tiles; j++) {
    let at = params.tiles_at + 3u * (first_tile + j);
    plan[at] = lid;
    plan[at + 1u] = first_row + j * params.tile_rows;
    plan[at + 2u] = min(params.tile_rows, count - j * params.tile_rows);
  }
  for (var t = tile_scan[WG - 1u] + lid; t < params.max_tiles; t += WG) {
    let at = params.tiles_at + 3u * t;
    plan[at] = 0u;
    plan[at + 1u] = 0u;
    plan[at + 2u] = 0u;
  }
}
