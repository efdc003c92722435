// The keys a query row sees: a row at absolute position pos attends keys window_start(pos, window)..pos, that is
// all earlier keys without a sliding window (window 0), else the last `window` of them, itself included
// (Hugging Face's sliding-window mask: key k is visible when k > pos − window).
fn window_start(pos: u32, window: u32) -> u32 {
  if (window != 0u && pos + 1u > window) { return pos + 1u - window; }
  return 0u;
}

// The keys a row at pos sees in the tile of `tile` keys starting at key `first`: keys start..start + keys − 1;
// none (keys 0) when the tile lies in the row's future or wholly before its window.
struct TileKeys { start: u32, keys: u32 }

fn tile_keys(pos: u32, window: u32, first: u32, tile: u32) -> TileKeys {
  let start = max(first, window_start(pos, window));
  if (first > pos || start >= first + tile) { return TileKeys(start, 0u); }
  return TileKeys(start, min(first + tile, pos + 1u) - start);
}

// Where position pos lives in a cache of `slots` positions per kv head: slot pos in a full cache (every position
// below slots), slot pos mod slots in a ring (a sliding-window layer's cache holding the last `slots` positions).
fn cache_slot(pos: u32, slots: u32) -> u32 {
  return pos % slots;
}

// The slot n positions after `slot`, for n < slots: one compare instead of a division per key.
fn slot_after(slot: u32, n: u32, slots: u32) -> u32 {
  let s = slot + n;
  return select(s, s - slots, s >= slots);
}
