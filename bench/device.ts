/**
 * The GPU proof run (scripts/device/run.sh), in one Node process on one adapter:
 * - parity: the shipped models' logits against the PyTorch reference fixtures at every position of 1/7/45-token
 *   prompts, and their greedy continuations, which exercises every kernel of a dense and a MoE forward pass;
 * - bandwidth: gemv GB/s per weight format over the copy kernel's (bench/kernels.ts);
 * - self-speculative vs greedy on tiny-dense, every run's text checked identical (bench/speculative.ts).
 * Paths are relative to the working directory: public/models/<model> and tests/fixtures/<model>.safetensors, as in
 * the repository and in the packed kit. Each section's result (or its error) is written as soon as it ends, so a
 * run cut short still leaves the sections it finished.
 *   node device.js --out=DIR [--fast] [--require-hardware]
 * --fast: small shapes and few tokens (the dry run on a CPU adapter); --require-hardware: fail on a software adapter.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../src/gpu/device';
import { Runtime } from '../src/runtime/runtime';
import { directorySource } from '../src/node/source';
import { nodeGpu } from '../src/node/gpu';
import { readFixture } from '../tests/helpers/fixtures';
import { relativeError } from '../tests/helpers/reference';
import { benchKernels, formatKernelBench, type KernelBench } from './kernels';
import { benchSpeculative, formatSpeculativeBench, type SpeculativeBench } from './speculative';

/** The logit tolerance of tests/model_parity.test.ts. */
const LOGIT_TOLERANCE = 2e-3;
const MODELS = ['tiny-dense', 'tiny-moe'];
/** Real-size gemv shapes: a 4096-wide projection, and an 8192x2048 MLP matrix. */
const GPU_SHAPES: [number, number][] = [[4096, 4096], [8192, 2048]];

interface ParityResult {
  model: string;
  /** relative error of the logits at every position, per prompt length */
  logitsError: Record<string, number>;
  greedyEqual: boolean;
  pass: boolean;
}

interface DeviceResults {
  date: string;
  adapter: { description: string; isSoftware: boolean };
  mode: 'fast' | 'full';
  parity?: ParityResult[];
  kernels?: KernelBench;
  speculative?: SpeculativeBench;
  ratios: Record<string, number>;
  errors: Record<string, string>;
}

async function parity(gpu: Gpu, model: string): Promise<ParityResult> {
  const fixture = readFixture(`tests/fixtures/${model}.safetensors`);
  const runtime = await Runtime.load(gpu, directorySource(`public/models/${model}`), { contextLength: 256 });
  try {
    const logitsError: Record<string, number> = {};
    for (const len of [1, 7, 45]) {
      logitsError[len] = relativeError(await runtime.logits(Array.from(fixture[`prompt_len${len}`])), fixture[`logits_len${len}`]);
    }
    const expected = Array.from(fixture.greedy_tokens);
    const run = await runtime.generate({ prompt: Array.from(fixture.greedy_prompt), maxTokens: expected.length, stopAtEos: false }, () => undefined);
    const greedyEqual = run.tokens.join() === expected.join();
    return { model, logitsError, greedyEqual, pass: greedyEqual && Object.values(logitsError).every((e) => e <= LOGIT_TOLERANCE) };
  } finally {
    runtime.dispose();
  }
}

/** gemv bandwidth over copy bandwidth for one weight format, averaged over the benchmarked shapes. */
function gemvRatio(k: KernelBench, format: string): number {
  const rows = k.gemv.filter((g) => g.format === format);
  return rows.reduce((sum, g) => sum + g.ratio, 0) / rows.length;
}

const fmt = (x: number) => (!Number.isFinite(x) ? String(x) : x !== 0 && Math.abs(x) < 0.01 ? x.toExponential(1) : x.toFixed(3));

function markdown(r: DeviceResults): string {
  return [
    `# GPU proof run (${r.date}, ${r.mode})`,
    '',
    `Adapter: ${r.adapter.description}${r.adapter.isSoftware ? ' (software: trust ratios, not absolute numbers)' : ''}.`,
    '',
    '| ratio | value | goal |',
    '|---|---|---|',
    ...Object.entries(r.ratios).map(([k, v]) => `| ${k} | ${fmt(v)} | ${GOALS[k] ?? ''} |`),
    '',
    '| parity | logits rel. error (1/7/45 tokens) | greedy equal | pass |',
    '|---|---|---|---|',
    ...(r.parity ?? []).map((p) => `| ${p.model} | ${Object.values(p.logitsError).map(fmt).join(' / ')} | ${p.greedyEqual} | ${p.pass} |`),
    '',
    ...(r.kernels ? ['```', formatKernelBench(r.kernels), '```', ''] : []),
    ...(r.speculative ? ['```', formatSpeculativeBench(r.speculative), '```', ''] : []),
    ...Object.entries(r.errors).map(([section, e]) => `**${section} failed:** ${e}`),
  ].join('\n') + '\n';
}

const GOALS: Record<string, string> = {
  gemv_vs_copy_bandwidth: '>= 0.7',
  self_speculative_speedup: '>= 2.0',
  decode_step_ms: '<= 1',
};

export async function main(args: string[]): Promise<number> {
  const out = args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? '.';
  const fast = args.includes('--fast');
  mkdirSync(out, { recursive: true });
  const gpu = await nodeGpu();
  const adapter = { description: gpu.adapter.description, isSoftware: gpu.adapter.isSoftware };
  console.log(`adapter: ${adapter.description}${adapter.isSoftware ? ' (software)' : ''}`);
  if (args.includes('--require-hardware') && adapter.isSoftware) {
    console.error('a hardware adapter was required, but the adapter is a software one: is the NVIDIA Vulkan driver found?');
    return 1;
  }
  const r: DeviceResults = { date: new Date().toISOString(), adapter, mode: fast ? 'fast' : 'full', ratios: {}, errors: {} };
  const save = () => {
    writeFileSync(join(out, 'gpu-results.json'), JSON.stringify(r, null, 2) + '\n');
    writeFileSync(join(out, 'gpu-results.md'), markdown(r));
  };
  const section = async (name: string, run: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await run();
    } catch (e) {
      r.errors[name] = e instanceof Error ? e.message : String(e);
      console.error(`${name} failed: ${r.errors[name]}`);
    }
    console.log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    save();
  };

  await section('parity', async () => {
    r.parity = [];
    for (const model of MODELS) {
      const p = await parity(gpu, model);
      r.parity.push(p);
      console.log(`parity ${model}: logits ${Object.entries(p.logitsError).map(([n, e]) => `${n}: ${fmt(e)}`).join(', ')}; greedy equal ${p.greedyEqual}`);
      if (!p.pass) throw new Error(`${model} does not match its reference`);
    }
  });
  await section('kernels', async () => {
    r.kernels = await benchKernels(gpu, fast ? { iterations: 5, runs: 1, shapes: [[1024, 1024]], copyBytes: 4 << 20 } : { shapes: GPU_SHAPES, copyBytes: 128 << 20 });
    console.log(formatKernelBench(r.kernels));
    r.ratios.gemv_vs_copy_bandwidth = gemvRatio(r.kernels, 'f16');
    r.ratios.gemv_f32_vs_copy_bandwidth = gemvRatio(r.kernels, 'f32');
    r.ratios.gemv_q4_vs_copy_bandwidth = gemvRatio(r.kernels, 'q4');
  });
  await section('speculative', async () => {
    const runtime = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 512 });
    try {
      r.speculative = fast ? await benchSpeculative(gpu, runtime, 8, { exitLayers: [1, 2], draftLengths: [2, 4] }) : await benchSpeculative(gpu, runtime);
    } finally {
      runtime.dispose();
    }
    console.log(formatSpeculativeBench(r.speculative));
    r.ratios.self_speculative_speedup = r.speculative.auto.speedup;
    r.ratios.self_speculative_best_fixed_speedup = Math.max(...r.speculative.fixed.map((f) => f.speedup));
    r.ratios.self_speculative_perfect_acceptance_bound = Math.max(...r.speculative.passCost.verify.map((v) => v.perfectAcceptanceBound));
    r.ratios.decode_step_ms = r.speculative.passCost.stepMs;
  });
  const failed = Object.keys(r.errors);
  console.log(failed.length ? `failed: ${failed.join(', ')}` : 'all sections passed');
  return failed.length ? 1 : 0;
}
