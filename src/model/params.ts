import { isMoeLayer, type ModelConfig } from './config';
import type { ModelWeights } from './weights';
import type { WeightMatrix } from '../kernels/tensor';

/** Parameter count of a Hugging Face checkpoint with this config (embeddings counted once when tied). */
export function parameterCount(c: ModelConfig): number {
  const q = c.heads * c.headDim, kv = c.kvHeads * c.headDim;
  const attention = c.hidden * (2 * q + 2 * kv) + (c.attentionBias ? q + 2 * kv : 0);
  const mlp = (width: number) => 3 * c.hidden * width;
  let total = c.vocab * c.hidden * (c.tieEmbeddings ? 1 : 2) + c.hidden;
  for (let i = 0; i < c.layers; i++) {
    total += attention + 2 * c.hidden;
    const moe = c.moe;
    if (moe && isMoeLayer(c, i)) {
      total += moe.experts * (c.hidden + mlp(moe.expertIntermediate));
      if (moe.sharedExpertIntermediate) total += mlp(moe.sharedExpertIntermediate) + c.hidden;
    } else {
      total += mlp(c.intermediate);
    }
  }
  return total;
}

/** Every GPU buffer the weights own (each once, also when embeddings are tied). */
export function weightBuffers(w: ModelWeights): GPUBuffer[] {
  const buffers = new Set<GPUBuffer>();
  const matrix = (m?: WeightMatrix) => {
    if (!m) return;
    buffers.add(m.data);
    if (m.scales) buffers.add(m.scales);
  };
  matrix(w.embed);
  matrix(w.lmHead);
  buffers.add(w.norm);
  for (const l of w.layers) {
    [l.inputNorm, l.postAttnNorm, l.qBias, l.kBias, l.vBias].forEach((b) => b && buffers.add(b));
    [l.q, l.k, l.v, l.o, l.mlp?.gate, l.mlp?.up, l.mlp?.down].forEach(matrix);
    const moe = l.moe;
    if (moe) [moe.router, moe.gate, moe.up, moe.down, moe.shared?.gate, moe.shared?.up, moe.shared?.down, moe.sharedGate].forEach(matrix);
  }
  return [...buffers];
}
