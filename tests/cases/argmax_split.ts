import type { KernelCase } from './types';
import type { WeightFormat, WeightMatrix, SplitMatrix } from '../../src/kernels/tensor';
import { randomFloats } from '../helpers/reference';
import { readU32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { argmaxPartials, linear } from '../../src/kernels/linear';
import { argmax, argmaxReduce } from '../../src/kernels/sampling';
import { encodeWeight } from '../../src/kernels/quantize';
import { TUNINGS, type GemvShape } from '../../src/gpu/tuning';
import { runStep } from '../helpers/step';
import { splitWeight } from './linear';

// The greedy pick split over the LM-head gemv's workgroups (common/argmax_partial.wgsl + misc/argmax_partials.wgsl).
const SHAPES: Record<string, [GemvShape, number]> = {
  blocked: [TUNINGS.cpu.gemv, TUNINGS.cpu.rowReduce],
  wide: [TUNINGS.gpu.gemv, TUNINGS.gpu.rowReduce],
  lanes16: [{ wg: 64, lanes: 16, maxRows: 16 }, 64],
};
const NONE = 0xffffffff;

interface SplitArgmaxCase {
  label: string;
  format: WeightFormat;
  shape: keyof typeof SHAPES;
  vocab: number;
  cols: number;
  /** rows split into pieces starting here (a big LM head over the binding limit) */
  pieces?: number[];
  /** rows equal to each other and largest: the lowest must win */
  ties?: number[];
  /** bias values at indices (NaN/+infinity: no token; -infinity everywhere: index 0) */
  bias?: (v: Float32Array) => void;
  /** the token the CPU expects (undefined: whatever argmax over the stored logits picks) */
  expected?: number;
}

/**
 * The split pick equals argmax over the logits the same gemv stores (so greedy tokens do not change), with the
 * RMSNorm prologue, at vocabularies that leave partial workgroups; ties go to the lowest index; a non-finite
 * logit gives no token; an all -infinity row picks index 0.
 */
function splitArgmaxCase(c: SplitArgmaxCase): KernelCase {
  const { format, vocab, cols } = c;
  const [shape, wg] = SHAPES[c.shape];
  return {
    name: `gemv-${c.shape} ${format} split argmax == argmax over the logits: vocab=${vocab} in=${cols} ${c.label}`,
    async run(gpu) {
      const values = randomFloats(vocab * cols, vocab + cols, 0.5);
      for (const r of c.ties ?? []) values.fill(1, r * cols, (r + 1) * cols);
      let w: WeightMatrix | SplitMatrix;
      if (c.pieces) w = splitWeight(gpu, format, values, vocab, cols, c.pieces);
      else {
        const { data, scales } = encodeWeight(format, values, vocab, cols);
        w = { format, rows: vocab, cols, label: 'lm_head', data: uploadBuffer(gpu, 'w', data), scales: scales && uploadBuffer(gpu, 'scales', scales) };
      }
      const xv = randomFloats(cols, 5).map(Math.abs); // positive: rows of ones are largest
      const x = uploadBuffer(gpu, 'x', xv);
      const norm = { weight: uploadBuffer(gpu, 'norm', new Float32Array(cols).fill(1)), eps: 1e-6, weightOffset: 0, wg };
      let bias: GPUBuffer | undefined;
      if (c.bias) {
        const bv = new Float32Array(vocab);
        c.bias(bv);
        bias = uploadBuffer(gpu, 'bias', bv);
      }
      const groups = argmaxPartials(w, shape);
      const partials = storageBuffer(gpu, 'partials', 8 * groups), logits = storageBuffer(gpu, 'logits', 4 * vocab);
      const out = storageBuffer(gpu, 'tokens', 8);
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: partials, rows: 1, bias, norm, argmax: true }, shape);
        argmaxReduce(gpu, step, { partials, groups, out, outOffset: 0 });
        linear(gpu, step, { x, w, y: logits, rows: 1, bias, norm }, shape);
        argmax(gpu, step, { logits, rows: 1, vocab, out, outOffset: 1 });
      });
      const [split, full] = await readU32(gpu, out, 2);
      const expected = c.expected ?? full;
      return { actual: [split, full], expected: [expected, expected], tolerance: 0 };
    },
  };
}

export const argmaxSplitCases: KernelCase[] = [
  ...(['blocked', 'wide', 'lanes16'] as const).map((shape) => splitArgmaxCase({ label: 'ties at 304, 704 and 905', format: 'f16', shape, vocab: 1001, cols: 64, ties: [704, 304, 905], expected: 304 })),
  splitArgmaxCase({ label: 'random', format: 'q8', shape: 'blocked', vocab: 777, cols: 96 }),
  ...(['blocked', 'wide'] as const).map((shape) => splitArgmaxCase({ label: 'split by rows at 0, 500, 900, ties at 520 and 901', format: 'f32', shape, vocab: 1001, cols: 40, pieces: [0, 500, 900], ties: [901, 520], expected: 520 })),
  ...(['blocked', 'wide'] as const).map((shape) => splitArgmaxCase({ label: 'NaN at 17', format: 'bf16', shape, vocab: 300, cols: 32, bias: (b) => { b[17] = NaN; }, expected: NONE })),
  splitArgmaxCase({ label: '+infinity at 299', format: 'f32', shape: 'wide', vocab: 300, cols: 32, bias: (b) => { b[299] = Infinity; }, expected: NONE }),
  splitArgmaxCase({ label: 'all -infinity', format: 'f32', shape: 'blocked', vocab: 300, cols: 32, bias: (b) => b.fill(-Infinity), expected: 0 }),
];
