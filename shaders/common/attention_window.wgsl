// The keys a query row sees: a row at absolute position pos attends keys window_start(pos, window)..pos, that is
// all earlier keys without a sliding window (window 0), else the last `window` of them, itself included
// (Hugging Face's sliding-window mask: key k is visible when k > pos − window).
fn window_start(pos: u32, window: u32) -> u32 {
  if (window != 0u && pos + 1u > window) { return pos + 1u - window; }
  return 0u;
}
