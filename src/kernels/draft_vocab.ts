import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from '../gpu/kernel';
import { grid1d } from './grid';

const WG = 64;

/** The draft vocabulary's tables (model/draft_vocab.ts): ids [size] u32 by rank, rank [vocab] u32 (size outside). */
export interface DraftVocabTables {
  size: number;
  ids: GPUBuffer;
  rank: GPUBuffer;
}

/** tokens[offset + i] = ids[tokens[offset + i]] for i < count: ranks chosen over the draft head become token ids (0xffffffff stays). */
export function draftIds(gpu: Gpu, step: Step, a: { tables: DraftVocabTables; tokens: GPUBuffer; offset: number; count: number }): void {
  const k = kernel(gpu, { shader: 'decode/draft_ids' });
  step.dispatch(k, [a.tables.ids, a.tokens], { count: a.count, offset: a.offset, size: a.tables.size }, [Math.ceil(a.count / WG)]);
}

/** out[outOffset + t] = probs[rank[t]] over the `vocab` tokens, 0 outside the draft vocabulary: the draft's distribution over the whole vocabulary. */
export function draftProbs(gpu: Gpu, step: Step, a: { tables: DraftVocabTables; probs: GPUBuffer; out: GPUBuffer; outOffset: number; vocab: number }): void {
  const k = kernel(gpu, { shader: 'decode/draft_probs', overrides: { WG } });
  step.dispatch(k, [a.tables.rank, a.probs, a.out], { vocab: a.vocab, size: a.tables.size, outOffset: a.outOffset }, grid1d(gpu, Math.ceil(a.vocab / WG)));
}
