import { ContextLengthError, InvalidRequestError } from '../gpu/errors';
import type { GenerateRequest, Strategy } from '../api/types';

export const MAX_TOKENS_LIMIT = 1 << 20;
const STRATEGIES = new Set(['greedy', 'sample', 'self-speculative', 'superposed']);

/** Reject hostile or malformed requests with a clear error before any GPU work. */
export function validateRequest(request: Omit<GenerateRequest, 'signal'>): void {
  const { prompt, maxTokens, strategy } = request;
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new InvalidRequestError('prompt is empty', { field: 'prompt' });
  } else if (Array.isArray(prompt)) {
    if (prompt.length === 0) throw new InvalidRequestError('prompt has no tokens', { field: 'prompt' });
  } else {
    throw new InvalidRequestError('prompt must be a string or an array of token ids', { field: 'prompt' });
  }
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= MAX_TOKENS_LIMIT)) {
    throw new InvalidRequestError(`maxTokens must be an integer in 1..${MAX_TOKENS_LIMIT}, got ${maxTokens}`, { field: 'maxTokens', value: maxTokens });
  }
  if (request.stop !== undefined && !(Array.isArray(request.stop) && request.stop.every((s) => typeof s === 'string' && s.length > 0))) {
    throw new InvalidRequestError('stop must be an array of non-empty strings', { field: 'stop' });
  }
  if (strategy !== undefined) validateStrategy(strategy);
}

function validateStrategy(strategy: Strategy): void {
  if (!strategy || typeof strategy !== 'object' || !STRATEGIES.has((strategy as { kind: string }).kind)) {
    throw new InvalidRequestError(`unknown strategy ${JSON.stringify((strategy as { kind?: unknown })?.kind ?? strategy)}; expected one of ${[...STRATEGIES].join(', ')}`, { field: 'strategy.kind' });
  }
  const sampling = strategy.kind === 'sample' ? strategy : strategy.kind === 'self-speculative' ? strategy.sampling : undefined;
  if (sampling) {
    const { temperature, topK, topP, seed } = sampling;
    finite('temperature', temperature, 0, 100);
    finite('topP', topP, 0, 1);
    if (topP !== undefined && topP === 0) throw new InvalidRequestError('topP must be > 0', { field: 'topP' });
    if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new InvalidRequestError(`topK must be a non-negative integer, got ${topK}`, { field: 'topK' });
    if (seed !== undefined && !Number.isInteger(seed)) throw new InvalidRequestError(`seed must be an integer, got ${seed}`, { field: 'seed' });
  }
  if (strategy.kind === 'self-speculative') {
    for (const [field, v] of [['exitLayer', strategy.exitLayer], ['draftLength', strategy.draftLength]] as const) {
      if (v !== undefined && v !== 'auto' && !(Number.isInteger(v) && v >= 1)) throw new InvalidRequestError(`${field} must be 'auto' or a positive integer, got ${v}`, { field });
    }
    finite('confidenceThreshold', strategy.confidenceThreshold, 0, 2);
  }
  if (strategy.kind === 'superposed') {
    const { drafts, tokensPerDraft } = strategy;
    if (drafts !== undefined && !(Number.isInteger(drafts) && drafts >= 1 && drafts <= 16)) throw new InvalidRequestError(`drafts must be an integer in 1..16, got ${drafts}`, { field: 'drafts' });
    if (tokensPerDraft !== undefined && !(Number.isInteger(tokensPerDraft) && tokensPerDraft >= 1 && tokensPerDraft <= 64)) throw new InvalidRequestError(`tokensPerDraft must be in 1..64, got ${tokensPerDraft}`, { field: 'tokensPerDraft' });
    finite('ngramWeight', strategy.ngramWeight, 0, 1);
    finite('temperature', strategy.temperature, 1e-6, 100);
  }
}

function finite(field: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new InvalidRequestError(`${field} must be a finite number in [${min}, ${max}], got ${v}`, { field, value: v });
  }
}

/** Token ids must exist in the vocabulary, and the prompt must leave room for at least one new token. */
export function validatePromptTokens(ids: number[], vocab: number, contextLength: number): void {
  const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad >= 0) throw new InvalidRequestError(`token id ${ids[bad]} at index ${bad} is outside the vocabulary (0..${vocab - 1})`, { field: 'prompt', index: bad });
  if (ids.length >= contextLength) {
    throw new ContextLengthError(`prompt has ${ids.length} tokens; the context holds ${contextLength} (prompt plus at least one generated token)`, { promptTokens: ids.length, contextLength });
  }
}
