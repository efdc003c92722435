import type { Gpu } from '../gpu/device';
import { UnsupportedModelError } from '../contract/errors';
import type { Step } from '../gpu/step';
import { readBuffer, readF32, readU32, storageBuffer, uploadBuffer } from '../gpu/buffers';
import { linear } from '../kernels/linear';
import { liveListBytes, sparseChunks, sparseUpAct, spmvActive } from '../kernels/sparse';
import { dequantize, encodeWeight } from '../kernels/quantize';
import { formatBytes } from './weight_plan';
import { denseFormat, type WeightMatrix } from '../kernels/tensor';
import type { ModelConfig } from './config';
import type { ModelWeights } from './weights';
import { denseMlp, type BlockOutput, type MlpBlock, type SparseControl, type Transformer } from './forward';

/** Generic English text whose activations set the thresholds when the model has a tokenizer. */
const CALIBRATION_TEXT =
  'Once upon a time, in a small village by the sea, there lived an old fisherman and his wife. Every morning he ' +
  'rowed out before sunrise, and every evening he came home with a basket of fish, a story, and a question ' +
  'about the weather. The children of the village loved to sit on the harbour wall and listen to him.';

interface SparseLayer {
  downT: WeightMatrix; // [intermediate, hidden] W_down transposed: one contiguous row per neuron
  threshold: number; // neuron i is live when |silu(gate_i)| > threshold
}

/**
 * Activation sparsity for the dense SwiGLU MLPs (CATS): during decode (one token per pass) the gate runs
 * densely, and only neurons with |silu(gate)| above the layer's threshold compute their up row and add
 * their down row. Thresholds are calibrated per layer on a short text so that a `target` fraction of
 * neurons is skipped; passes of several tokens (prefill, verify) stay dense, and so does every pass while `dense` is set.
 */
export class SparseMlp implements SparseControl {
  readonly block: MlpBlock;
  dense = false;
  private readonly live: GPUBuffer; // [2 + 2 * widest intermediate] u32: live count, running total since the reset, (index, act) pairs
  private readonly partial: GPUBuffer; // [chunks of the widest intermediate, hidden] f32 per-chunk sums
  private neuronsSeen = 0;
  private calibration?: GPUBuffer[]; // per layer [rows, intermediate] f32 gate pre-activations, while calibrating

  private constructor(private readonly gpu: Gpu, private readonly weights: ModelWeights, private readonly layers: (SparseLayer | undefined)[], readonly target: number) {
    const widest = Math.max(0, ...layers.map((l) => l?.downT.rows ?? 0));
    this.live = storageBuffer(gpu, 'sparsity.live', liveListBytes(widest));
    this.partial = storageBuffer(gpu, 'sparsity.partial', 4 * sparseChunks(widest) * weights.embed.cols);
    this.block = (t, step, layer, count, out) => this.record(t, step, layer, count, out);
  }

  /** Transposes every dense layer's W_down (q8/q4 are requantised with groups along the hidden dim). */
  static async create(gpu: Gpu, config: ModelConfig, weights: ModelWeights, target: number): Promise<SparseMlp> {
    if (!(target >= 0 && target < 1)) throw new RangeError(`sparsity.mlp must be in [0, 1), got ${target}`);
    const gelu = config.recipe.find((r) => r.activation !== 'silu');
    if (gelu) throw new UnsupportedModelError(`sparsity: the sparse MLP kernels implement SwiGLU; ${config.hfArchitecture} uses ${gelu.activation}`, { activation: gelu.activation });
    if (config.hidden % 32 !== 0) throw new UnsupportedModelError(`sparsity: the sparse MLP kernels need a hidden size that is a multiple of 32, got ${config.hidden}`, { hidden: config.hidden });
    const layers: (SparseLayer | undefined)[] = [];
    for (let l = 0; l < config.layers; l++) {
      const mlp = weights.layers[l].mlp;
      if (mlp?.gateUp) throw new Error(`sparsity: layer ${l} has gate and up stacked; the sparse MLP reads them apart`);
      layers.push(mlp && { downT: await transposeWeight(gpu, mlp.down), threshold: -1 });
    }
    return new SparseMlp(gpu, weights, layers, target);
  }

  /** Sets each layer's threshold to the `target` quantile of |silu(gate)| over one dense pass of `tokens`. */
  async calibrate(model: Transformer, tokens: number[], newStep: () => Step): Promise<void> {
    const ids = tokens.slice(0, model.rows);
    if (ids.length === 0) throw new Error('sparsity calibration needs at least one token');
    const { gpu } = this;
    this.calibration = this.layers.map((layer, l) => storageBuffer(gpu, `sparsity.calibration.${l}`, layer ? 4 * ids.length * layer.downT.rows : 4));
    try {
      gpu.device.queue.writeBuffer(model.act.ids, 0, new Uint32Array(ids));
      const step = newStep();
      model.embed(step, model.act.ids, 0, ids.length);
      model.layers(step, ids.length, 0);
      await step.submit();
      for (const [l, layer] of this.layers.entries()) {
        if (!layer) continue;
        const gates = await readF32(gpu, this.calibration[l], ids.length * layer.downT.rows);
        layer.threshold = quantile(gates.map((g) => Math.abs(g / (1 + Math.exp(-g)))), this.target);
      }
    } finally {
      this.calibration.forEach((b) => b.destroy());
      this.calibration = undefined;
      model.kv.clear();
    }
  }

  /** Calibration tokens: the built-in text, or spread ids for models without a tokenizer. */
  static calibrationTokens(vocab: number, encode?: (text: string) => number[]): number[] {
    return encode ? encode(CALIBRATION_TEXT) : Array.from({ length: 48 }, (_, i) => (i * 7919 + 13) % vocab);
  }

  private record(t: Transformer, step: Step, l: number, count: number, out: BlockOutput): void {
    const layer = this.layers[l];
    if (!layer || count > 1 || this.dense || this.calibration) {
      denseMlp(t, step, l, count, out);
      if (layer && this.calibration) step.copy(t.act.gate, 0, this.calibration[l], 0, 4 * count * layer.downT.rows);
      return;
    }
    const { gpu } = this;
    const mlp = this.weights.layers[l].mlp!;
    const { act } = t;
    t.mlpInput(step, l, 1);
    linear(gpu, step, { x: act.h, w: mlp.gate!, y: act.gate, rows: 1 });
    sparseUpAct(gpu, step, { x: act.h, gate: act.gate, up: mlp.up!, live: this.live, threshold: layer.threshold });
    spmvActive(gpu, step, { live: this.live, partial: this.partial, downT: layer.downT, y: out.y, accumulate: out.accumulate });
    this.neuronsSeen += layer.downT.rows;
  }

  /** Fraction of MLP neurons skipped in the sparse passes since the last reset (reads 4 bytes). */
  async skippedFraction(): Promise<number> {
    if (this.neuronsSeen === 0) return 0;
    const live = (await readU32(this.gpu, this.live, 2))[1];
    return 1 - live / this.neuronsSeen;
  }

  resetStats(): void {
    this.neuronsSeen = 0;
    this.gpu.device.queue.writeBuffer(this.live, 4, new Uint32Array(1));
  }

  destroy(): void {
    this.live.destroy();
    this.partial.destroy();
    for (const layer of this.layers) {
      layer?.downT.data.destroy();
      layer?.downT.scales?.destroy();
    }
  }
}

/** The value below which a `fraction` of `values` lie. */
function quantile(values: Float32Array, fraction: number): number {
  const sorted = values.slice().sort();
  return fraction === 0 ? -1 : sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** W [rows, cols] -> Wᵀ [cols, rows] in the same format (exact for f32/f16/bf16; q8/q4 are requantised). */
export async function transposeWeight(gpu: Gpu, m: WeightMatrix): Promise<WeightMatrix> {
  const format = denseFormat(m, 'activation-sparse kernels');
  const bytes = formatBytes(format, m.rows, m.cols);
  const data = new Uint32Array(await readBuffer(gpu, m.data, bytes.data));
  const scales = m.scales ? new Float32Array(await readBuffer(gpu, m.scales, bytes.scales)) : undefined;
  const values = dequantize(format, data, scales, m.rows, m.cols);
  const t = new Float32Array(values.length);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) t[c * m.rows + r] = values[r * m.cols + c];
  const label = `${m.label}.T`;
  const out = { format, rows: m.cols, cols: m.rows, label };
  const q = encodeWeight(format, t, m.cols, m.rows);
  return { ...out, data: uploadBuffer(gpu, label, q.data), scales: q.scales && uploadBuffer(gpu, `${label}.scales`, q.scales) };
}
