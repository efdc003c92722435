import { requestGpu } from '../../src/gpu/device';
import { kernelSuites } from '../../tests/cases';
import { relativeError } from '../../tests/helpers/reference';

/** Runs the browser subset of the kernel cases in this page's WebGPU; results land on window.kernelResults. */
interface Outcome { suite: string; name: string; error: number; tolerance: number; pass: boolean; failure?: string }

async function runAll(): Promise<{ adapter: string; outcomes: Outcome[] }> {
  const gpu = await requestGpu(navigator.gpu);
  const outcomes: Outcome[] = [];
  for (const [suite, cases] of Object.entries(kernelSuites)) {
    for (const c of cases.filter((c) => c.browser)) {
      try {
        const { actual, expected, tolerance } = await c.run(gpu);
        const error = relativeError(actual, expected);
        outcomes.push({ suite, name: c.name, error, tolerance, pass: error <= tolerance });
      } catch (e) {
        outcomes.push({ suite, name: c.name, error: Infinity, tolerance: 0, pass: false, failure: String(e) });
      }
    }
  }
  return { adapter: gpu.adapter.description, outcomes };
}

const log = document.getElementById('log')!;
runAll().then(
  (r) => {
    log.textContent = JSON.stringify(r, null, 1);
    (window as unknown as { kernelResults: unknown }).kernelResults = r;
  },
  (e) => {
    log.textContent = String(e);
    (window as unknown as { kernelResults: unknown }).kernelResults = { error: String(e) };
  },
);
