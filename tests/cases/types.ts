import type { Gpu } from '../../src/gpu/device';

/**
 * A kernel test case as data: runs the kernel and returns its output next to the CPU reference.
 * The same cases run in Node (Vitest on Dawn) and in Chromium (e2e/harness), so both paths are proven.
 */
export interface KernelCase {
  name: string;
  run(gpu: Gpu): Promise<CaseResult>;
  /** include in the browser subset */
  browser?: boolean;
}

export interface CaseResult {
  actual: ArrayLike<number>;
  expected: ArrayLike<number>;
  /** max relative error allowed (see relativeError); 0 means bit-exact */
  tolerance: number;
}
