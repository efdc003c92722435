/**
 * The Node side of the model benchmarks: load the shipped tiny-dense on the Node adapter, run one bench, print
 * its summary and write its result to bench/results/<name>.json; and the median they report.
 */
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';

/** The middle value of xs (the upper one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runTinyDenseBench<T>(
  name: string,
  contextLength: number,
  bench: (gpu: Gpu, runtime: Runtime) => Promise<T>,
  summary: (result: T) => string,
): Promise<number> {
  const { nodeGpu } = await import('../src/node/gpu');
  const { directorySource } = await import('../src/node/source');
  const { Runtime } = await import('../src/runtime/runtime');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const gpu = await nodeGpu();
  const runtime = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength });
  const result = await bench(gpu, runtime);
  runtime.dispose();
  console.log(summary(result));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.json`, JSON.stringify(result, null, 2) + '\n');
  return 0;
}
