import { testGpu } from './gpu';
import { directorySource } from '../../src/node/source';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime';
import type { GenerateResult } from '../../src/contract/types';

/** A Runtime on the test GPU for a model folder, with a small context (tests never need more). */
export async function loadRuntime(dir: string, options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256, ...options });
}

/** Plain greedy decoding that runs through EOS. */
export function greedyRun(runtime: Runtime, prompt: number[], maxTokens: number): Promise<GenerateResult> {
  return runtime.generate({ prompt, maxTokens, stopAtEos: false }, () => undefined);
}
