import type { Strategy } from '../contract/types';
import type { DecodeStrategy } from './strategy';
import { Autoregressive } from './autoregressive';
import { SelfSpeculative } from './self_speculative';
import { Superposed, SUPERPOSED_DEFAULTS } from './superposed';

export const DEFAULT_SEED = 0x5eed;

/** The strategy object for a validated request. */
export function createStrategy(strategy: Strategy): DecodeStrategy {
  switch (strategy.kind) {
    case 'greedy':
      return new Autoregressive();
    case 'sample':
      return new Autoregressive({
        temperature: strategy.temperature ?? 1,
        topK: strategy.topK ?? 0,
        topP: strategy.topP ?? 1,
        seed: strategy.seed ?? DEFAULT_SEED,
      });
    case 'self-speculative': {
      const s = strategy.sampling;
      return new SelfSpeculative({
        exitLayer: strategy.exitLayer ?? 'auto',
        draftLength: strategy.draftLength ?? 'auto',
        confidenceThreshold: strategy.confidenceThreshold ?? 0,
        sampling: s && { temperature: s.temperature ?? 1, topK: s.topK ?? 0, topP: s.topP ?? 1, seed: s.seed ?? DEFAULT_SEED },
      });
    }
    case 'superposed':
      return new Superposed({
        drafts: strategy.drafts ?? SUPERPOSED_DEFAULTS.drafts,
        ngramWeight: strategy.ngramWeight ?? SUPERPOSED_DEFAULTS.ngramWeight,
        temperature: strategy.temperature ?? SUPERPOSED_DEFAULTS.temperature,
        tokensPerDraft: strategy.tokensPerDraft ?? SUPERPOSED_DEFAULTS.tokensPerDraft,
      });
  }
}
