import type { KernelCase } from './types';
import { elementwiseCases } from './elementwise';

/** Every kernel case, by suite name. Add new suites here. */
export const kernelSuites: Record<string, KernelCase[]> = {
  elementwise: elementwiseCases,
};
