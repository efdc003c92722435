import { isMoeLayer, type ModelConfig } from './config';

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
