import type { KernelCase } from './types';
import { elementwiseCases } from './elementwise';
import { attentionCases } from './attention';
import { attentionRingCases } from './attention_ring';
import { embedCases } from './embed';
import { ropeCases } from './rope';
import { samplingCases } from './sampling';
import { linearCases } from './linear';
import { linearNormCases } from './linear_norm';
import { gateUpCases } from './gate_up';
import { qkvAppendCases } from './qkv_append';
import { qkvAttentionCases } from './qkv_attention';
import { argmaxSplitCases } from './argmax_split';
import { quantizeCases } from './quantize';
import { normCases } from './norm';
import { softmaxCases } from './softmax';
import { verifyCases } from './verify';
import { superposeCases } from './superpose';
import { moeCases } from './moe';
import { sparseCases } from './sparse';
import { ggmlCases } from './ggml';
import { logitControlCases } from './logit_controls';

/** Every kernel case, by suite name. Add new suites here. */
export const kernelSuites: Record<string, KernelCase[]> = {
  elementwise: elementwiseCases,
  attention: attentionCases,
  'attention ring cache': attentionRingCases,
  embed: embedCases,
  rope: ropeCases,
  sampling: samplingCases,
  linear: linearCases,
  'linear with RMSNorm prologue': linearNormCases,
  'stacked gate/up': gateUpCases,
  'q/k/v with RoPE + KV append': qkvAppendCases,
  'q/k/v + decode attention in one dispatch': qkvAttentionCases,
  'split argmax': argmaxSplitCases,
  quantize: quantizeCases,
  norm: normCases,
  softmax: softmaxCases,
  verify: verifyCases,
  superpose: superposeCases,
  moe: moeCases,
  sparse: sparseCases,
  ggml: ggmlCases,
  logitControls: logitControlCases,
};
