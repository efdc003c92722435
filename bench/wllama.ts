/**
 * GGUF in Chromium against wllama (llama.cpp as WebAssembly, @wllama/wllama), same page, same run, same files:
 * tiny-dense as Q8_0 and Q4_K_M GGUF (.cache/gguf, written by bench/gguf.ts or the tests). Ours: the worker engine
 * on the page's WebGPU adapter. wllama: its CPU build on one thread (the dev server sends no cross-origin isolation
 * headers, so no wasm threads), and its WebGPU backend where it starts on this adapter. Greedy, a 32-token prompt,
 * 32 generated tokens, median of 3 runs after a warm-up; results on window.benchResults (scripts/bench.mjs records them).
 */
import { Wllama } from '@wllama/wllama';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { createEngine } from '../src/browser/index';

const SCHEMES = ['Q8_0', 'Q4_K_M'] as const;
const PROMPT_TOKENS = 32;
const DECODE_TOKENS = 32;
const RUNS = 3;
const TEXT = 'A man walks into a bar and says: the secret of life is to keep on trying, and never to stop. ';

/** `text`: the greedy continuation, compared as text (wllama's completion API returns text) */
interface Speed { prefillTokPerS: number; decodeTokPerS: number; text: string }
interface Peer extends Speed { sameTokensAsOurs: boolean }
export interface WllamaBench {
  adapter: string;
  results: { scheme: string; ours: Speed; wllamaCpu: Peer; wllamaWebgpu: Peer | { error: string }; decodeVsWllama: number; prefillVsWllama: number }[];
}

const log = document.getElementById('log')!;
const say = (line: string) => {
  log.textContent += `\n${line}`;
  console.log(line);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const url = (scheme: string) => `/.cache/gguf/tiny-dense-${scheme}.gguf`;

async function ours(scheme: string): Promise<Speed & { prompt: number[]; promptText: string }> {
  const engine = await createEngine({ model: url(scheme), cache: false });
  try {
    const prompt = (await engine.tokenize(TEXT.repeat(4))).slice(0, PROMPT_TOKENS);
    await engine.complete({ prompt: prompt.slice(0, 8), maxTokens: 4, stopAtEos: false }); // warm-up: pipelines
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      await engine.resetCache(); // a cold prefill every run, as wllama's (no prefix reuse)
      runs.push(await engine.complete({ prompt, maxTokens: DECODE_TOKENS, stopAtEos: false, strategy: { kind: 'greedy' } }));
    }
    const s = runs.map((x) => x.stats);
    return {
      prefillTokPerS: median(s.map((x) => (1000 * x.prefillTokens) / x.prefillMs)),
      decodeTokPerS: median(s.map((x) => (1000 * x.decodeTokens) / x.decodeMs)),
      text: await engine.detokenize(runs[0].tokens),
      prompt,
      promptText: await engine.detokenize(prompt.slice(1)), // without BOS, which llama.cpp adds
    };
  } finally {
    await engine.dispose();
  }
}

/** wllama's own timings (llama-server's: prompt_per_second, predicted_per_second); `gpuLayers` 0 = its CPU build. */
async function wllama(scheme: string, text: string, promptTokens: number, gpuLayers: number): Promise<Speed> {
  const w = new Wllama({ default: wllamaWasm }, { suppressNativeLog: true });
  try {
    const blob = await (await fetch(url(scheme))).blob();
    await w.loadModel([new File([blob], `tiny-dense-${scheme}.gguf`)], { n_ctx: 256, n_threads: 1, n_gpu_layers: gpuLayers, n_parallel: 1 });
    // the prompt as text, which it tokenizes to the same ids (checked by its prompt count); no prompt cache so every run prefills
    const complete = (n: number) => {
      const options = { prompt: text, max_tokens: n, temperature: 0, ignore_eos: true, cache_prompt: false };
      return w.createCompletion(options);
    };
    await complete(4);
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await complete(DECODE_TOKENS));
    const t = runs.map((x) => x.timings!);
    if (t[0].prompt_n !== promptTokens) throw new Error(`wllama prefilled ${t[0].prompt_n} tokens, not ${promptTokens}`);
    return {
      prefillTokPerS: median(t.map((x) => x.prompt_per_second)),
      decodeTokPerS: median(t.map((x) => x.predicted_per_second)),
      text: runs[0].choices[0].text,
    };
  } finally {
    await w.exit();
  }
}

async function main(): Promise<WllamaBench> {
  const adapter = await navigator.gpu?.requestAdapter();
  const bench: WllamaBench = { adapter: adapter ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim() : 'none', results: [] };
  for (const scheme of SCHEMES) {
    const mine = await ours(scheme);
    say(`${scheme} ours: prefill ${mine.prefillTokPerS.toFixed(0)} tok/s, decode ${mine.decodeTokPerS.toFixed(1)} tok/s`);
    const peer = (s: Speed): Peer => ({ ...s, sameTokensAsOurs: s.text === mine.text });
    const cpu = peer(await wllama(scheme, mine.promptText, mine.prompt.length, 0));
    say(`${scheme} wllama cpu: prefill ${cpu.prefillTokPerS.toFixed(0)} tok/s, decode ${cpu.decodeTokPerS.toFixed(1)} tok/s, same tokens ${cpu.sameTokensAsOurs}`);
    if (!cpu.sameTokensAsOurs) say(`  ours ${JSON.stringify(mine.text)}\n  wllama ${JSON.stringify(cpu.text)}`);
    const gpu = await wllama(scheme, mine.promptText, mine.prompt.length, 99999).then(peer, (e: unknown) => ({ error: String(e) }));
    say(`${scheme} wllama webgpu: ${'error' in gpu ? gpu.error : `prefill ${gpu.prefillTokPerS.toFixed(0)} tok/s, decode ${gpu.decodeTokPerS.toFixed(1)} tok/s, same tokens ${gpu.sameTokensAsOurs}`}`);
    const { prompt: _, promptText: __, ...speed } = mine;
    bench.results.push({ scheme, ours: speed, wllamaCpu: cpu, wllamaWebgpu: gpu, decodeVsWllama: mine.decodeTokPerS / cpu.decodeTokPerS, prefillVsWllama: mine.prefillTokPerS / cpu.prefillTokPerS });
  }
  return bench;
}

const w = window as unknown as { benchResults?: unknown };
main().then((r) => (w.benchResults = r), (e: unknown) => {
  say(`error: ${String(e)}`);
  w.benchResults = { error: String(e) };
});
