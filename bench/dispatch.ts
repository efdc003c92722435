/**
 * Where a decode step's time goes on the shipped tiny-dense (Node, one adapter, one run): dispatches per step,
 * per layer and per kernel, the CPU time to record and submit a step, the wait for its readback, and GPU time
 * where the adapter has timestamp queries (`engine.kernelProfile()`). Decode tok/s is measured on a second,
 * unprofiled runtime in the same run. `main` writes bench/results/dispatch.json.
 */
import type { Gpu } from '../src/gpu/device';
import type { Runtime } from '../src/runtime/runtime';
import type { StepShape } from '../src/contract/types';
import { median, runTinyDenseBench } from './tiny_dense';

/** Greedy decode after a prompt of `promptTokens`: the step as kernelProfile() reports it, and unprofiled speed. */
export interface DecodePoint {
  promptTokens: number;
  /** medians over the profiled run's steps */
  decodeStep: StepShape;
  /** unprofiled greedy decode, median of RUNS */
  decodeTokPerS: number;
  /** 1000 / decodeTokPerS: the wall time of one pipelined step */
  stepMs: number;
}

export interface DispatchBench {
  adapter: string;
  isSoftware: boolean;
  timestamps: boolean;
  model: string;
  layers: number;
  decodeTokens: number;
  /** a short context (every key in one attention tile) and a longer one */
  points: DecodePoint[];
  ratios: {
    /** at the longer context */
    decode_dispatches_per_layer: number;
    /** CPU encode + submit of a step over the step's wall time, at the longer context */
    decode_encode_vs_step: number;
  };
}

const PROMPT_TOKENS = [8, 64];
const DECODE_TOKENS = 16;
const RUNS = 3;

const request = (runtime: Runtime, promptTokens: number) => ({
  prompt: Array.from({ length: promptTokens }, (_, i) => 3 + ((i * 37) % (runtime.config.vocab - 3))),
  maxTokens: DECODE_TOKENS,
  stopAtEos: false,
  strategy: { kind: 'greedy' as const },
});

async function decodePoint(gpu: Gpu, runtime: Runtime, promptTokens: number): Promise<DecodePoint> {
  const { Runtime } = await import('../src/runtime/runtime');
  const { directorySource } = await import('../src/node/source');
  const profiled = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 1024, profile: true });
  await profiled.generate(request(profiled, promptTokens), () => undefined);
  const decodeStep = profiled.kernelProfile().steps[0]; // the most frequent shape: the greedy steps
  profiled.dispose();
  const tokPerS: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { stats } = await runtime.generate(request(runtime, promptTokens), () => undefined);
    tokPerS.push((1000 * stats.decodeTokens) / stats.decodeMs);
  }
  const decodeTokPerS = median(tokPerS);
  return { promptTokens, decodeStep, decodeTokPerS, stepMs: 1000 / decodeTokPerS };
}

export async function benchDispatch(gpu: Gpu, runtime: Runtime): Promise<DispatchBench> {
  await runtime.generate({ ...request(runtime, 8), maxTokens: 4 }, () => undefined); // warm-up: pipelines
  const points: DecodePoint[] = [];
  for (const promptTokens of PROMPT_TOKENS) points.push(await decodePoint(gpu, runtime, promptTokens));
  const long = points[points.length - 1];
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    timestamps: gpu.hasTimestamps,
    model: 'tiny-dense',
    layers: runtime.config.layers,
    decodeTokens: DECODE_TOKENS,
    points,
    ratios: { decode_dispatches_per_layer: long.decodeStep.perLayer, decode_encode_vs_step: long.decodeStep.encodeMs / long.stepMs },
  };
}

export async function main(): Promise<number> {
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const summary = (b: DispatchBench) => b.points.flatMap(({ promptTokens, decodeStep: s, decodeTokPerS, stepMs }) => [
    `prompt ${promptTokens}: decode step ${s.dispatches} dispatches (${s.perLayer} per layer x ${b.layers} + ${s.outsideLayers}) over ${s.steps} steps`,
    `  encode+submit ${fmt(s.encodeMs)} ms, readback wait ${fmt(s.readbackWaitMs)} ms, GPU ${fmt(s.gpuMs)} ms (profiled); ` +
      `unprofiled decode ${decodeTokPerS.toFixed(1)} tok/s (${fmt(stepMs)} ms/step)`,
    ...s.kernels.map((k) => `  ${k.kernel}: ${k.perStep}/step = ${k.perLayer}/layer + ${k.outsideLayers}, GPU ${fmt(k.gpuMs)} ms/step`),
  ]).join('\n');
  return runTinyDenseBench('dispatch', 1024, benchDispatch, summary);
}
