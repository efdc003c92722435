/**
 * Puts the public browser API on window for e2e/worker.spec.ts, plus a main-thread probe: the longest
 * long task (PerformanceObserver 'longtask') and the longest gap between animation frames.
 */
import * as api from '../../src/browser/index';
import * as modelCache from '../../src/browser/cache';

interface Probe {
  stop(): { longestTaskMs: number; longestFrameGapMs: number; frames: number };
}

function probeMainThread(): Probe {
  let longestTaskMs = 0;
  let longestFrameGapMs = 0;
  let frames = 0;
  let running = true;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longestTaskMs = Math.max(longestTaskMs, entry.duration);
  });
  observer.observe({ type: 'longtask', buffered: false });
  let last = performance.now();
  const frame = (now: number) => {
    if (!running) return;
    longestFrameGapMs = Math.max(longestFrameGapMs, now - last);
    last = now;
    frames++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return {
    stop() {
      running = false;
      observer.disconnect();
      return { longestTaskMs, longestFrameGapMs, frames };
    },
  };
}

Object.assign(window, { webgpuInfer: api, modelCache, probeMainThread });
document.getElementById('log')!.textContent = 'ready';
