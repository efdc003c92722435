import type { Strategy } from '../api/types';
import type { DecodeStrategy } from './strategy';
import { Autoregressive } from './autoregressive';

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
    default:
      throw new Error(`strategy ${strategy.kind} is not available in this build`);
  }
}
