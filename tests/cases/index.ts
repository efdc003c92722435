import type { KernelCase } from './types';
import { elementwiseCases } from './elementwise';
import { attentionCases } from './attention';
import { embedCases } from './embed';
import { ropeCases } from './rope';
import { samplingCases } from './sampling';

/** Every kernel case, by suite name. Add new suites here. */
export const kernelSuites: Record<string, KernelCase[]> = {
  elementwise: elementwiseCases,
  attention: attentionCases,
  embed: embedCases,
  rope: ropeCases,
  sampling: samplingCases,
};
