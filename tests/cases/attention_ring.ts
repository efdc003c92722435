import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { attention, ringSlots, ropeKvWrite, SPLIT_K_MAX_TOKENS } from '../../src/kernels/attention';
import type { SplitKKernel } from '../../src/gpu/tuning';
import { runStep } from '../helpers/step';

/**
 * A sliding-window layer's ring cache (ringSlots(window, 20 rows) slots, wrapping three times) gives every pass
 * the bits of a full cache: a 20-row flash prefill, a 6-row verify block rolled back to 2 accepted rows and
 * re-verified over the rejected positions, single-row decode steps, and a 17-row pass across the wrap.
 */
function ringCase(headDim: number, splitK: SplitKKernel, rotation: { theta: number } | { table: null }, browser = false): KernelCase {
  const window = 8, maxRows = 20, heads = 4, kvHeads = 2, fullSeq = 90;
  const passes: [number, number][] = [[0, 20], [20, 6], [22, 5], ...Array.from({ length: 35 }, (_, i): [number, number] => [27 + i, 1]), [62, 17], [79, 3]];
  return {
    name: `attention ring cache == full cache (bitwise) window=${window} slots=${ringSlots(window, maxRows)} headDim=${headDim} split-K ${splitK}${'table' in rotation ? ' NoPE' : ''}, with rollback`,
    browser,
    async run(gpu) {
      const slots = ringSlots(window, maxRows);
      const cache = (label: string, seq: number) => ({
        kCache: storageBuffer(gpu, `${label}-k`, 4 * kvHeads * seq * headDim), vCache: storageBuffer(gpu, `${label}-v`, 4 * kvHeads * seq * headDim),
      });
      const layouts = [{ ...cache('ring', slots), maxSeq: slots, ring: true }, { ...cache('full', fullSeq), maxSeq: fullSeq }];
      const outs: GPUBuffer[][] = [[], []];
      await runStep(gpu, (step) => {
        passes.forEach(([startPos, tokens], i) => {
          const q = randomFloats(tokens * heads * headDim, 3 * i + 1, 2), k = randomFloats(tokens * kvHeads * headDim, 3 * i + 2), v = randomFloats(tokens * kvHeads * headDim, 3 * i + 3);
          const kv = { k: uploadBuffer(gpu, 'k', k), v: uploadBuffer(gpu, 'v', v) };
          layouts.forEach((layout, c) => {
            const block = { tokens, startPos, heads, kvHeads, headDim, ...layout };
            const qBuffer = uploadBuffer(gpu, 'q', q), out = storageBuffer(gpu, 'out', 4 * q.length);
            ropeKvWrite(gpu, step, { q: qBuffer, ...kv, ...rotation, ...block });
            attention(gpu, step, { q: qBuffer, out, window, splitK: tokens <= SPLIT_K_MAX_TOKENS ? splitK : undefined, ...block });
            outs[c].push(out);
          });
        });
      });
      const read = async (buffers: GPUBuffer[]) => (await Promise.all(buffers.map((b) => readF32(gpu, b, b.size / 4)))).flatMap((a) => Array.from(a));
      return { actual: await read(outs[0]), expected: await read(outs[1]), tolerance: 0 };
    },
  };
}

// NoPE appends through kvWrite, the others through the fused RoPE + append
export const attentionRingCases: KernelCase[] = [ringCase(32, 'serial', { theta: 1e4 }, true), ringCase(32, 'lanes', { table: null }), ringCase(160, 'lanes', { theta: 1e4 })];
