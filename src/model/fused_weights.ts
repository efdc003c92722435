import type { Gpu } from '../gpu/device';
import { isGgmlFormat, type WeightMatrix } from '../kernels/tensor';
import type { LayerWeights, ModelWeights } from './weights';

/**
 * Stacks each layer's q, k and v projections into one matrix [q + 2·kv rows, hidden] (rows of q, then k, then
 * v; their biases likewise), so one gemv computes all three and writes them to their own buffers (linear's split
 * outputs). The three matrices are freed; weights.buffers and weights.bytes follow. A layer keeps them apart
 * when they differ in format or are GGUF blocks (rows of those need not end on 4-byte boundaries).
 * The copies are queued on the GPU; the bytes are those the matrices held, so the memory estimate still holds.
 */
export function fuseAttentionInputs(gpu: Gpu, weights: ModelWeights): void {
  const encoder = gpu.device.createCommandEncoder({ label: 'fuse q/k/v' });
  const freed: GPUBuffer[] = [];
  const made: GPUBuffer[] = [];
  for (const [l, layer] of weights.layers.entries()) {
    const { q, k, v } = layer;
    if (!q || !k || !v || !stackable([q, k, v])) continue;
    const biases = [layer.qBias, layer.kBias, layer.vBias];
    if (biases.some(Boolean) && !biases.every(Boolean)) continue;
    const label = `layers.${l}.qkv`;
    const concat = (parts: GPUBuffer[], name: string) => {
      const out = gpu.device.createBuffer({ label: name, size: parts.reduce((n, b) => n + b.size, 0), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      let at = 0;
      for (const b of parts) {
        encoder.copyBufferToBuffer(b, 0, out, at, b.size);
        at += b.size;
        freed.push(b);
      }
      made.push(out);
      return out;
    };
    const w: WeightMatrix = {
      format: q.format, rows: q.rows + k.rows + v.rows, cols: q.cols, label,
      data: concat([q.data, k.data, v.data], label),
      scales: q.scales && concat([q.scales, k.scales!, v.scales!], `${label}.scales`),
    };
    const bias = biases.every(Boolean) ? concat(biases as GPUBuffer[], `${label}.bias`) : undefined;
    const fused: LayerWeights = { ...layer, qkv: { w, bias, widths: [q.rows, k.rows] } };
    for (const key of ['q', 'k', 'v', 'qBias', 'kBias', 'vBias'] as const) delete fused[key];
    weights.layers[l] = fused;
  }
  gpu.device.queue.submit([encoder.finish()]);
  for (const b of freed) b.destroy(); // after the submit: the queued copies still read them
  const gone = new Set(freed);
  weights.buffers = [...weights.buffers.filter((b) => !gone.has(b)), ...made];
  weights.bytes = weights.buffers.reduce((n, b) => n + b.size, 0);
}

/** Matrices that stack by rows into one: the same dense format and width, each buffer a whole number of rows. */
function stackable(ms: WeightMatrix[]): boolean {
  const [first] = ms;
  return !isGgmlFormat(first.format) && ms.every((m) => m.format === first.format && m.cols === first.cols && m.data.size % 4 === 0 && (m.scales?.size ?? 0) % 4 === 0);
}
