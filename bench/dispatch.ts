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

export interface DispatchBench {
  adapter: string;
  isSoftware: boolean;
  timestamps: boolean;
  model: string;
  layers: number;
  promptTokens: number;
  decodeTokens: number;
  /** the greedy decode step as kernelProfile() reports it (medians over the profiled run's steps) */
  decodeStep: StepShape;
  /** unprofiled greedy decode, median of RUNS */
  decodeTokPerS: number;
  /** 1000 / decodeTokPerS: the wall time of one pipelined step */
  stepMs: number;
  ratios: {
    decode_dispatches_per_layer: number;
    /** CPU encode + submit of a step over the step's wall time */
    decode_encode_vs_step: number;
  };
}

const PROMPT_TOKENS = 32;
const DECODE_TOKENS = 32;
const RUNS = 3;

const request = (runtime: Runtime) => ({
  prompt: Array.from({ length: PROMPT_TOKENS }, (_, i) => 3 + ((i * 37) % (runtime.config.vocab - 3))),
  maxTokens: DECODE_TOKENS,
  stopAtEos: false,
  strategy: { kind: 'greedy' as const },
});

export async function benchDispatch(gpu: Gpu, runtime: Runtime): Promise<DispatchBench> {
  const { Runtime } = await import('../src/runtime/runtime');
  const { directorySource } = await import('../src/node/source');
  const profiled = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 1024, profile: true });
  await runtime.generate({ ...request(runtime), maxTokens: 4 }, () => undefined); // warm-up: pipelines
  const tokPerS: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { stats } = await runtime.generate(request(runtime), () => undefined);
    tokPerS.push((1000 * stats.decodeTokens) / stats.decodeMs);
  }
  await profiled.generate(request(profiled), () => undefined);
  const profile = profiled.kernelProfile();
  profiled.dispose();
  const decodeStep = profile.steps[0]; // the most frequent shape: DECODE_TOKENS greedy steps
  const decodeTokPerS = median(tokPerS);
  const stepMs = 1000 / decodeTokPerS;
  return {
    adapter: gpu.adapter.description,
    isSoftware: gpu.adapter.isSoftware,
    timestamps: profile.timestamps,
    model: 'tiny-dense',
    layers: profile.layers,
    promptTokens: PROMPT_TOKENS,
    decodeTokens: DECODE_TOKENS,
    decodeStep,
    decodeTokPerS,
    stepMs,
    ratios: { decode_dispatches_per_layer: decodeStep.perLayer, decode_encode_vs_step: decodeStep.encodeMs / stepMs },
  };
}

export async function main(): Promise<number> {
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const summary = (b: DispatchBench) => [
    `decode step: ${b.decodeStep.dispatches} dispatches (${b.decodeStep.perLayer} per layer x ${b.layers} + ${b.decodeStep.outsideLayers}) over ${b.decodeStep.steps} steps`,
    `encode+submit ${fmt(b.decodeStep.encodeMs)} ms, readback wait ${fmt(b.decodeStep.readbackWaitMs)} ms, GPU ${fmt(b.decodeStep.gpuMs)} ms; ` +
      `unprofiled decode ${b.decodeTokPerS.toFixed(1)} tok/s (${fmt(b.stepMs)} ms/step, encode share ${fmt(b.ratios.decode_encode_vs_step)})`,
    ...b.decodeStep.kernels.map((k) => `  ${k.kernel}: ${k.perStep}/step = ${k.perLayer}/layer + ${k.outsideLayers}, GPU ${fmt(k.gpuMs)} ms/step`),
  ].join('\n');
  return runTinyDenseBench('dispatch', 1024, benchDispatch, summary);
}
