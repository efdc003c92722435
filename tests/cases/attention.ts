import type { KernelCase } from './types';
import { randomFloats } from '../helpers/reference';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { kvWrite } from '../../src/kernels/attention';
import { runStep } from '../helpers/step';

const kvWriteCase: KernelCase = {
  name: 'kvWrite tokens=3 at startPos=5 kvHeads=2 headDim=48',
  browser: true,
  async run(gpu) {
    const tokens = 3, startPos = 5, kvHeads = 2, headDim = 48, maxSeq = 9;
    const cacheSize = kvHeads * maxSeq * headDim;
    const k = randomFloats(tokens * kvHeads * headDim, 1), v = randomFloats(tokens * kvHeads * headDim, 2);
    const kCacheInit = randomFloats(cacheSize, 3), vCacheInit = randomFloats(cacheSize, 4);
    const kCache = uploadBuffer(gpu, 'kCache', kCacheInit), vCache = uploadBuffer(gpu, 'vCache', vCacheInit);
    await runStep(gpu, (step) => kvWrite(gpu, step, { k: uploadBuffer(gpu, 'k', k), v: uploadBuffer(gpu, 'v', v), kCache, vCache, tokens, startPos, kvHeads, headDim, maxSeq }));
    const expectK = kCacheInit.slice(), expectV = vCacheInit.slice();
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < kvHeads; h++) {
        const src = (t * kvHeads + h) * headDim, dst = (h * maxSeq + startPos + t) * headDim;
        expectK.set(k.subarray(src, src + headDim), dst);
        expectV.set(v.subarray(src, src + headDim), dst);
      }
    }
    const actual = [...(await readF32(gpu, kCache, cacheSize)), ...(await readF32(gpu, vCache, cacheSize))];
    return { actual, expected: [...expectK, ...expectV], tolerance: 0 };
  },
};

export const attentionCases: KernelCase[] = [kvWriteCase];
