import type { Strategy } from '../contract/types';
import type { DecodeStrategy } from './strategy';
import { Autoregressive, type SamplingParams } from './autoregressive';
import { SelfSpeculative } from './self_speculative';
import { Superposed, SUPERPOSED_DEFAULTS } from './superposed';

export const DEFAULT_SEED = 0x5eed;

/**
 * Temperatures at or below this take the T -> 0 limit, greedy (OpenAI's temperature 0). The sampling kernels
 * divide logits by T in f32: below it T flushes to zero or logit / T leaves f32's range, where the limit is
 * argmax anyway (every other token's probability is exp(-gap / T) = 0).
 */
export const GREEDY_TEMPERATURE = 1e-20;

type Sampling = { temperature?: number; topK?: number; topP?: number; minP?: number; seed?: number };

/** The sampling parameters with defaults, or undefined for greedy (temperature in the greedy limit). */
function samplingOf(s: Sampling | undefined): SamplingParams | undefined {
  const temperature = s?.temperature ?? 1;
  if (!s || temperature <= GREEDY_TEMPERATURE) return undefined;
  return { temperature, topK: s.topK ?? 0, topP: s.topP ?? 1, minP: s.minP ?? 0, seed: s.seed ?? DEFAULT_SEED };
}

/** The strategy object for a validated request. */
export function createStrategy(strategy: Strategy): DecodeStrategy {
  switch (strategy.kind) {
    case 'greedy':
      return new Autoregressive();
    case 'sample':
      return new Autoregressive(samplingOf(strategy));
    case 'self-speculative':
      return new SelfSpeculative({
        exitLayer: strategy.exitLayer ?? 'auto',
        draftLength: strategy.draftLength ?? 'auto',
        confidenceThreshold: strategy.confidenceThreshold ?? 0,
        sampling: samplingOf(strategy.sampling),
        draftSource: strategy.draftSource ?? 'auto',
        draftVocab: strategy.draftVocab ?? true,
      });
    case 'superposed':
      return new Superposed({
        drafts: strategy.drafts ?? SUPERPOSED_DEFAULTS.drafts,
        ngramWeight: strategy.ngramWeight ?? SUPERPOSED_DEFAULTS.ngramWeight,
        temperature: strategy.temperature ?? SUPERPOSED_DEFAULTS.temperature,
        tokensPerDraft: strategy.tokensPerDraft ?? SUPERPOSED_DEFAULTS.tokensPerDraft,
      });
  }
}
