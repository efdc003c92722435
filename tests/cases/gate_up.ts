import type { KernelCase } from './types';
import type { Gpu } from '../../src/gpu/device';
import type { WeightFormat, WeightMatrix } from '../../src/kernels/tensor';
import type { ModelWeights } from '../../src/model/weights';
import { randomFloats } from '../helpers/reference';
import { readF32, storageBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { linear, linearKernel, type GatedActivation, type LinearNorm } from '../../src/kernels/linear';
import { TUNINGS, type GemvShape } from '../../src/gpu/tuning';
import { fuseProjections } from '../../src/model/fused_weights';
import { runStep } from '../helpers/step';
import { ACTIVATIONS, linearReference, randomWeight } from './linear';
import { rmsNormReference } from './norm';

// Gate and up stacked at load (fuseProjections interleaves their rows) and computed by one gemv storing act(gate)·up.
const SHAPES: [string, GemvShape, number][] = [
  ['blocked', TUNINGS.cpu.gemv, TUNINGS.cpu.rowReduce],
  ['wide', TUNINGS.gpu.gemv, TUNINGS.gpu.rowReduce],
  ['lanes16', { wg: 64, lanes: 16, maxRows: 16 }, 64],
];
const EPS = 1e-5;

interface Setup {
  gate: WeightMatrix;
  up: WeightMatrix;
  values: [Float32Array, Float32Array];
  xv: Float32Array;
  x: GPUBuffer;
  /** the RMSNorm in the prologue where the batch runs the gemv (the matmul takes none) */
  norm?: LinearNorm & { values: Float32Array };
}

function setup(gpu: Gpu, format: WeightFormat, rows: number, inter: number, cols: number, [, shape, wg]: (typeof SHAPES)[number]): Setup {
  const g = randomWeight(gpu, format, inter, cols, inter + 1), u = randomWeight(gpu, format, inter, cols, cols + 2);
  const xv = randomFloats(rows * cols, rows + 3);
  const gemv = linearKernel({ cols, format }, rows, 0, shape) === 'gemv';
  const nv = randomFloats(cols, 4);
  const norm = gemv ? { weight: uploadBuffer(gpu, 'norm', nv), eps: EPS, weightOffset: 0, wg, values: nv } : undefined;
  return { gate: g.w, up: u.w, values: [g.values, u.values], xv, x: uploadBuffer(gpu, 'x', xv), norm };
}

/** Stacks gate and up as the loader does (the two matrices are freed). */
function stack(gpu: Gpu, gate: WeightMatrix, up: WeightMatrix): WeightMatrix {
  const buffers = [gate.data, up.data, ...(gate.scales ? [gate.scales, up.scales!] : [])];
  const weights = { layers: [{ mlp: { gate, up, down: gate } }], buffers, bytes: 0 } as unknown as ModelWeights;
  fuseProjections(gpu, weights, { gateUp: true });
  const gateUp = weights.layers[0].mlp!.gateUp!;
  if (weights.bytes !== buffers.reduce((n, b) => n + b.size, 0)) throw new Error('stacking changed the weight bytes');
  return gateUp;
}

function caseName(kind: string, format: WeightFormat, rows: number, inter: number, cols: number, [label, shape]: (typeof SHAPES)[number], activation: GatedActivation): string {
  const path = linearKernel({ cols, format }, rows, 0, shape) === 'gemv' ? `gemv-${label} RMSNorm prologue,` : 'gemm';
  return `${path} ${format} stacked gate/up by ${activation} ${kind} rows=${rows} inter=${inter} in=${cols}`;
}

/** act(norm(x)·gateᵀ) ⊙ norm(x)·upᵀ against the CPU reference (f64). */
function referenceCase(format: WeightFormat, rows: number, inter: number, cols: number, shape: (typeof SHAPES)[number], activation: GatedActivation, browser = false): KernelCase {
  return {
    name: caseName('vs reference', format, rows, inter, cols, shape, activation),
    browser,
    async run(gpu) {
      const s = setup(gpu, format, rows, inter, cols, shape);
      const y = storageBuffer(gpu, 'y', 4 * rows * inter);
      const w = stack(gpu, s.gate, s.up);
      await runStep(gpu, (step) => linear(gpu, step, { x: s.x, w, y, rows, gateUp: true, activation, norm: s.norm }, shape[1]));
      const input = s.norm ? rmsNormReference(s.xv, s.norm.values, rows, cols, EPS) : s.xv;
      const [g, u] = s.values.map((v) => linearReference(input, v, rows, inter, cols));
      return { actual: await readF32(gpu, y, rows * inter), expected: u.map((v, i) => ACTIVATIONS[activation](g[i]) * v), tolerance: 2e-5 };
    },
  };
}

/**
 * The stacked gemv gives the bits of the gate projection then the gated up projection (so decode output does not
 * change), and a batch's rows the bits of each row alone (speculative verify).
 */
function bitwiseCase(format: WeightFormat, rows: number, inter: number, cols: number, shape: (typeof SHAPES)[number], activation: GatedActivation, browser = false): KernelCase {
  return {
    name: caseName(`== gate then gated up (bitwise)${linearKernel({ cols, format }, rows, 0, shape[1]) === 'gemv' ? ', and == rows alone' : ''}`, format, rows, inter, cols, shape, activation),
    browser,
    async run(gpu) {
      const s = setup(gpu, format, rows, inter, cols, shape);
      const gate = storageBuffer(gpu, 'gate', 4 * rows * inter);
      const [unfused, fused, alone] = ['unfused', 'fused', 'alone'].map((n) => storageBuffer(gpu, n, 4 * rows * inter));
      const { x, norm } = s;
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w: s.gate, y: gate, rows, norm }, shape[1]);
        linear(gpu, step, { x, w: s.up, y: unfused, rows, gate, activation, norm }, shape[1]);
      });
      const w = stack(gpu, s.gate, s.up);
      await runStep(gpu, (step) => {
        linear(gpu, step, { x, w, y: fused, rows, gateUp: true, activation, norm }, shape[1]);
        // rows alone where the batch runs the gemv too (the matmul sums in another order than the gemv)
        if (norm) for (let r = 0; r < rows; r++) linear(gpu, step, { x, w, y: alone, rows: 1, xOffset: r * cols, yOffset: r * inter, gateUp: true, activation, norm }, shape[1]);
      });
      const [a, b, c] = await Promise.all([fused, alone, unfused].map((buf) => readF32(gpu, buf, rows * inter)));
      return norm ? { actual: [...a, ...b], expected: [...c, ...c], tolerance: 0 } : { actual: a, expected: c, tolerance: 0 };
    },
  };
}

// Odd intermediate sizes leave a last invocation with one gate/up pair; 13 rows split into groups of 7.
const SIZES: Record<WeightFormat, [number, number]> = { f32: [37, 72], f16: [33, 264], bf16: [9, 72], q8: [19, 96], q4: [7, 64] };

export const gateUpCases: KernelCase[] = [
  ...(Object.entries(SIZES) as [WeightFormat, [number, number]][]).flatMap(([format, [inter, cols]]) => [
    referenceCase(format, 5, inter, cols, SHAPES[0], 'silu', format === 'f16'),
    bitwiseCase(format, 13, inter, cols, SHAPES[0], 'silu', format === 'q4'),
    ...(format === 'f32' || format === 'q8' ? [bitwiseCase(format, 13, inter, cols, SHAPES[1], 'silu')] : []),
  ]),
  referenceCase('f32', 3, 37, 72, SHAPES[1], 'gelu_pytorch_tanh'),
  referenceCase('f16', 1, 33, 264, SHAPES[2], 'silu'),
  bitwiseCase('f16', 5, 33, 264, SHAPES[2], 'gelu_pytorch_tanh'),
  referenceCase('f32', 40, 37, 72, SHAPES[1], 'silu'), // the matmul (more rows than a GPU's gemv takes)
  bitwiseCase('q8', 40, 19, 96, SHAPES[1], 'silu'),
];
