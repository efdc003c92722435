import type { Gpu } from '../gpu/device';
import type { Step } from '../gpu/step';
import { kernel } from './kernel';

const KV_WRITE_WG = 64;

/** Write k, v [tokens, kvHeads, headDim] into the caches [kvHeads, maxSeq, headDim] at positions startPos.. */
export function kvWrite(
  gpu: Gpu,
  step: Step,
  a: { k: GPUBuffer; v: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; tokens: number; startPos: number; kvHeads: number; headDim: number; maxSeq: number },
): void {
  if (a.startPos + a.tokens > a.maxSeq) throw new Error(`kvWrite: positions ${a.startPos}..${a.startPos + a.tokens - 1} exceed maxSeq ${a.maxSeq}`);
  const k = kernel(gpu, {
    shader: 'attention/kv_write',
    buffers: { k: 'read', v: 'read', kCache: 'rw', vCache: 'rw' },
    params: { tokens: 'u32', startPos: 'u32', kvHeads: 'u32', maxSeq: 'u32' },
    overrides: { WG: KV_WRITE_WG, HEAD_DIM: a.headDim },
  });
  const { tokens, startPos, kvHeads, headDim, maxSeq } = a;
  step.dispatch(k, [a.k, a.v, a.kCache, a.vCache], { tokens, startPos, kvHeads, maxSeq }, [Math.ceil(headDim / KV_WRITE_WG), tokens, kvHeads]);
}
