#!/usr/bin/env node
// `npm run bench`: kernel, MoE, self-speculative, context-length, GGUF, dispatch and onnxruntime-web wasm benchmarks in Node (Dawn), then the browser
// page bench/index.html in Chromium (ours vs onnxruntime-web, strategies vs greedy). Writes
// bench/results/latest.{json,md}.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'vite';
import { chromium } from '@playwright/test';

const results = { date: new Date().toISOString(), node: {}, browser: null, ratios: {} };

function runNodeBench(entry, output) {
  console.log(`bench: ${entry}`);
  execFileSync(process.execPath, ['scripts/vite-run.mjs', entry], { stdio: 'inherit' });
  return JSON.parse(readFileSync(output, 'utf8'));
}

/** Runs the page `path` of the dev server in Chromium until it sets window.benchResults. */
async function runBrowserBench(path = 'bench/index.html') {
  const port = Number(process.env.BENCH_PORT ?? 5175);
  const server = await createServer({ logLevel: 'error', server: { port, strictPort: true, host: '127.0.0.1' } });
  await server.listen();
  const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  const hardware = process.env.WEBGPU_INFER_ADAPTER === 'hardware';
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', ...(hardware ? [] : ['--use-webgpu-adapter=swiftshader'])],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`  [page] ${m.text()}`));
    await page.goto(`http://127.0.0.1:${port}/${path}`);
    const handle = await page.waitForFunction(() => window.benchResults, null, { timeout: 20 * 60_000, polling: 1000 });
    return await handle.jsonValue();
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The Node benchmarks: results key, entry, output file. */
const NODE_BENCHES = [
  ['kernels', 'bench/kernels.ts', 'bench/results/kernels.json'],
  ['moe', 'bench/moe.ts', 'bench/results/moe.json'],
  ['speculative', 'bench/speculative.ts', 'bench/results/speculative.json'],
  ['context', 'bench/context.ts', 'bench/results/context.json'],
  ['gguf', 'bench/gguf.ts', 'bench/results/gguf.json'],
  ['chat', 'bench/chat.ts', 'bench/results/chat.json'],
  ['dispatch', 'bench/dispatch.ts', 'bench/results/dispatch.json'],
  ['ort', 'bench/ort.ts', 'bench/results/ort.json'],
];

if (process.argv.includes('--speculative-only')) {
  // only the page's self-speculative section (greedy and 'auto' alternating, DEL's rounds): bench/results/speculative_chromium.json
  const run = await runBrowserBench('bench/index.html?only=speculative');
  if (run.error) throw new Error(`browser bench failed: ${run.error}`);
  const file = 'bench/results/speculative_chromium.json';
  const runs = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).runs : [];
  writeFileSync(file, `{"runs": [\n${[...runs, { date: results.date, ...run }].map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`);
  process.exit(0);
}

if (process.argv.includes('--summarize')) {
  // recompute ratios and the markdown from the recorded raw results; --reload=<name> takes bench/results/<name>.json
  // (a Node bench run on its own since) in place of the recorded one
  Object.assign(results, JSON.parse(readFileSync('bench/results/latest.json', 'utf8')));
  for (const arg of process.argv.filter((a) => a.startsWith('--reload='))) {
    const name = arg.slice('--reload='.length);
    results.node[name] = JSON.parse(readFileSync(`bench/results/${name}.json`, 'utf8'));
  }
} else {
  // --browser-only reuses the last Node results (bench/results/*.json); --wllama-only also the last onnxruntime-web page
  // and runs only the GGUF page against wllama (bench/gguf.ts has written its files)
  const wllamaOnly = process.argv.includes('--wllama-only');
  const reuse = wllamaOnly || process.argv.includes('--browser-only');
  for (const [key, entry, output] of NODE_BENCHES) results.node[key] = reuse ? JSON.parse(readFileSync(output, 'utf8')) : runNodeBench(entry, output);
  if (wllamaOnly) {
    results.browser = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')).browser;
  } else {
    console.log('bench: browser page (ours vs onnxruntime-web)');
    results.browser = await runBrowserBench();
    if (results.browser.error) throw new Error(`browser bench failed: ${results.browser.error}`);
  }
  console.log('bench: browser GGUF page (ours vs wllama)');
  results.browserWllama = await runBrowserBench('bench/wllama.html');
  if (results.browserWllama.error) throw new Error(`wllama bench failed: ${results.browserWllama.error}`);
}

/** gemv bandwidth over copy bandwidth for one weight format, averaged over the benchmarked shapes. */
const gemvRatio = (format) => {
  const rows = results.node.kernels.gemv.filter((g) => g.format === format);
  return rows.reduce((sum, g) => sum + g.ratio, 0) / rows.length;
};

const wllamaResult = (scheme) => results.browserWllama?.results.find((r) => r.scheme === scheme);
const wllamaWebgpuRatio = (scheme, key) => {
  const r = wllamaResult(scheme);
  return r && !r.wllamaWebgpu.error ? r.ours[key] / r.wllamaWebgpu[key] : undefined;
};

const b = results.browser;
results.ratios = {
  decode_vs_ort_webgpu: b.ours.decodeTokPerS / b.ortWebgpu.decodeTokPerS,
  prefill_vs_ort_webgpu: b.ours.prefillTokPerS / b.ortWebgpu.prefillTokPerS,
  decode_vs_ort_wasm: b.ours.decodeTokPerS / b.ortWasm.decodeTokPerS,
  prefill_vs_ort_wasm: b.ours.prefillTokPerS / b.ortWasm.prefillTokPerS,
  gemv_vs_copy_bandwidth: gemvRatio('f16'),
  gemv_f32_vs_copy_bandwidth: gemvRatio('f32'),
  gemv_q4_vs_copy_bandwidth: gemvRatio('q4'),
  self_speculative_speedup: b.ours.selfSpeculativeDecodeTokPerS / b.ours.decodeTokPerS,
  superposed_k3_vs_3_passes: b.ours.threeSeparateRunsMs / b.ours.superposedK3Ms,
  // Node, bench/speculative.ts: the best (exit layer, draft length) if every draft were accepted, from pass timings
  self_speculative_perfect_acceptance_bound: Math.max(...results.node.speculative.passCost.verify.map((v) => v.perfectAcceptanceBound)),
  // Node, bench/speculative.ts: a PROJECTION under a bandwidth-bound cost model (assumptions in
  // node.speculative.projection.assumptions and below the table): the best (draft source, exit, drafts) setting's
  // speedup, and the per-token greedy acceptance of its draft path
  draft_acceptance_best: results.node.speculative.projection?.best.acceptance,
  self_speculative_projected_bandwidth_bound: results.node.speculative.projection?.best.speedup,
  ...results.node.moe.ratios,
  // Node, bench/gguf.ts: the Q4_K_M file against llama.cpp on the CPU
  decode_vs_llamacpp_cpu: results.node.gguf?.results.find((r) => r.scheme === 'Q4_K_M').decodeVsLlamaCpp,
  prefill_vs_llamacpp_cpu: results.node.gguf?.results.find((r) => r.scheme === 'Q4_K_M').prefillVsLlamaCpp,
  // Chromium, bench/wllama.ts: the Q4_K_M file against wllama's CPU build (one thread), and its WebGPU backend where it runs
  decode_vs_wllama: wllamaResult('Q4_K_M')?.decodeVsWllama,
  prefill_vs_wllama: wllamaResult('Q4_K_M')?.prefillVsWllama,
  decode_vs_wllama_webgpu: wllamaWebgpuRatio('Q4_K_M', 'decodeTokPerS'),
  prefill_vs_wllama_webgpu: wllamaWebgpuRatio('Q4_K_M', 'prefillTokPerS'),
  // Node, bench/chat.ts: json_object decode tok/s over unconstrained
  constrained_vs_unconstrained_decode: results.node.chat?.constrainedRatio,
  // Node, bench/dispatch.ts: the greedy decode step as kernelProfile() counts it
  ...results.node.dispatch?.ratios,
  // Node, bench/ort.ts: ours and the onnxruntime-web wasm EP back to back, median of the repeats
  node_decode_vs_ort_wasm: results.node.ort?.ranges.decode_vs_ort_wasm.median,
  node_prefill_vs_ort_wasm: results.node.ort?.ranges.prefill_vs_ort_wasm.median,
};
writeFileSync('bench/results/latest.json', JSON.stringify(results, null, 2) + '\n');

const fmt = (x) => (typeof x === 'number' ? x.toFixed(2) : String(x));
const md = [
  `# Benchmark results (${results.date})`,
  '',
  `Browser adapter: ${b.adapter}${b.isSoftware ? ' (software: trust ratios, not absolute numbers)' : ''}. Model: tiny-dense, prompt ${b.promptTokens} tokens.`,
  '',
  '| ratio | value |',
  '|---|---|',
  ...Object.entries(results.ratios).filter(([, v]) => v !== undefined).map(([k, v]) => `| ${k} | ${fmt(v)} |`), // a ratio whose bench is not in this record is left out
  '',
  '| runtime | prefill tok/s | decode tok/s | same greedy tokens as ours |',
  '|---|---|---|---|',
  `| webgpu-infer | ${fmt(b.ours.prefillTokPerS)} | ${fmt(b.ours.decodeTokPerS)} | - |`,
  `| onnxruntime-web webgpu | ${fmt(b.ortWebgpu.prefillTokPerS)} | ${fmt(b.ortWebgpu.decodeTokPerS)} | ${b.ortWebgpu.sameTokensAsOurs} |`,
  `| onnxruntime-web wasm | ${fmt(b.ortWasm.prefillTokPerS)} | ${fmt(b.ortWasm.decodeTokPerS)} | ${b.ortWasm.sameTokensAsOurs} |`,
  '',
  `Self-speculative (exit layer and draft length 'auto'): decode ${fmt(b.ours.selfSpeculativeDecodeTokPerS)} tok/s vs greedy ${fmt(b.ours.decodeTokPerS)}, ` +
    `draft acceptance ${fmt(b.ours.selfSpeculativeAcceptance)}, output identical to greedy: ${b.ours.selfSpeculativeIdentical}.`,
  `Superposed k=3: ${fmt(b.ours.superposedK3Ms)} ms vs 3 separate sampled runs ${fmt(b.ours.threeSeparateRunsMs)} ms.`,
  '',
  `| self-speculative (Node, bench/speculative.ts; greedy ${fmt(results.node.speculative.greedyTokPerS)} tok/s) | tok/s / greedy | draft acceptance | verify pass / step | bound if every draft were accepted |`,
  '|---|---|---|---|---|',
  `| auto | ${fmt(results.node.speculative.auto.speedup)} | ${fmt(results.node.speculative.auto.acceptance)} | | |`,
  ...results.node.speculative.fixed.map((f) => {
    const cost = results.node.speculative.passCost.verify.find((v) => v.exitLayer === f.exitLayer && v.drafts === f.draftLength);
    return `| exit layer ${f.exitLayer}, ${f.draftLength} drafts | ${fmt(f.speedup)} | ${fmt(f.acceptance)} | ${fmt(cost.vsStep)} | ${fmt(cost.perfectAcceptanceBound)} |`;
  }),
  `Draft pass / plain step by exit layer: ${results.node.speculative.passCost.draft.map((d) => `${d.exitLayer}: ${fmt(d.vsStep)}`).join(', ')}.`,
  '',
  ...(results.node.speculative.sparse ? [
    `Sirius (sparse drafts, ${results.node.speculative.sparse.sparsity * 100}% of MLP neurons skipped, exit layer ${results.node.speculative.sparse.exitLayer}, dense verify; sparse pass / dense step ${fmt(results.node.speculative.sparse.draftVsStep)}): ` +
      results.node.speculative.sparse.fixed.map((f) => `${f.draftLength} drafts ${fmt(f.speedup)}x greedy, acceptance ${fmt(f.acceptance)}`).join('; ') + '.',
    '',
  ] : []),
  ...(results.node.speculative.projection ? [
    '| PROJECTION, bandwidth-bound cost model (not measured): draft source, exit layer, drafts | per-token acceptance (from) | draft pass / step (weight bytes) | tokens per round | projected speedup |',
    '|---|---|---|---|---|',
    ...results.node.speculative.projection.settings.map((s) => `| ${s.kind}${s.draftVocab ? ` (draft vocabulary ${s.draftVocab})` : ''}, ${s.exitLayer}, ${s.drafts} | ${fmt(s.acceptance)} (${s.acceptanceFrom}) | ${fmt(s.draftCost)} | ${fmt(s.tokensPerRound)} | ${fmt(s.speedup)} |`),
    `Assumptions: ${results.node.speculative.projection.assumptions.join('; ')}. 'runtime' acceptance: this benchmark's decoding (per-token rate inferred from accepted/drafted); 'held-out': tools/train on the validation split (PyTorch).`,
    '',
  ] : []),
  `| prompt tokens (Node, bench/context.ts, greedy) | prefill tok/s | decode tok/s (${results.node.context.decodeTokens} tokens after the prompt) |`,
  '|---|---|---|',
  ...results.node.context.points.map((p) => `| ${p.promptTokens} | ${fmt(p.prefillTokPerS)} | ${fmt(p.decodeTokPerS)} |`),
  '',
  ...(results.node.gguf ? [
    `| GGUF tiny-dense (Node, bench/gguf.ts; llama.cpp CPU, ${results.node.gguf.llamaCppThreads} thread(s)) | decode tok/s ours / llama.cpp | prefill tok/s ours / llama.cpp | same greedy tokens |`,
    '|---|---|---|---|',
    ...results.node.gguf.results.map((r) => `| ${r.scheme} | ${fmt(r.ours.decodeTokPerS)} / ${fmt(r.llamaCpp.decodeTokPerS)} | ${fmt(r.ours.prefillTokPerS)} / ${fmt(r.llamaCpp.prefillTokPerS)} | ${r.sameTokens} |`),
    ...(results.node.gguf.moe?.results ?? []).map((r) => `| tiny-moe ${r.scheme} | ${fmt(r.ours.decodeTokPerS)} / ${fmt(r.llamaCpp.decodeTokPerS)} | ${fmt(r.ours.prefillTokPerS)} / ${fmt(r.llamaCpp.prefillTokPerS)} | ${r.sameTokens} |`),
    '',
  ] : []),
  ...(results.browserWllama ? [
    `| GGUF tiny-dense in Chromium (bench/wllama.ts; ${results.browserWllama.adapter}) | decode tok/s ours / wllama CPU (1 thread) / wllama WebGPU | prefill tok/s ours / wllama CPU / wllama WebGPU | same greedy tokens (CPU, WebGPU) |`,
    '|---|---|---|---|',
    ...results.browserWllama.results.map((r) => {
      const g = r.wllamaWebgpu;
      return `| ${r.scheme} | ${fmt(r.ours.decodeTokPerS)} / ${fmt(r.wllamaCpu.decodeTokPerS)} / ${g.error ? 'failed' : fmt(g.decodeTokPerS)} | ` +
        `${fmt(r.ours.prefillTokPerS)} / ${fmt(r.wllamaCpu.prefillTokPerS)} / ${g.error ? 'failed' : fmt(g.prefillTokPerS)} | ${r.wllamaCpu.sameTokensAsOurs}, ${g.error ? '-' : g.sameTokensAsOurs} |`;
    }),
    '',
  ] : []),
  ...(results.node.chat ? [
    `Chat (Node, bench/chat.ts): mask ${fmt(results.node.chat.maskMsPerToken)} ms per token (2,048 tokens, beside a ${fmt(results.node.chat.stepMs)} ms step); ` +
      `151,936-token masks ${Object.entries(results.node.chat.largeVocabMaskMs).map(([k, v]) => `${k} ${fmt(v)} ms`).join(', ')}; ` +
      `third-turn prefill ${fmt(results.node.chat.thirdTurnPrefillMs.cold)} ms cold vs ${fmt(results.node.chat.thirdTurnPrefillMs.reused)} ms with ${results.node.chat.thirdTurnPrefillMs.cachedTokens} of ${results.node.chat.thirdTurnPrefillMs.promptTokens} tokens cached.`,
    '',
  ] : []),
  ...(results.node.dispatch ? [
    `| greedy decode step (Node, bench/dispatch.ts), prompt tokens | dispatches | per layer | encode+submit ms | step ms |`,
    '|---|---|---|---|---|',
    ...results.node.dispatch.points.map((p) => `| ${p.promptTokens} | ${p.decodeStep.dispatches} | ${p.decodeStep.perLayer} | ${fmt(p.decodeStep.encodeMs)} | ${fmt(p.stepMs)} |`),
    '',
  ] : []),
  ...(results.node.ort ? [
    `Node, bench/ort.ts (tiny-dense, ${results.node.ort.promptTokens}-token prompt, ${results.node.ort.decodeTokens} tokens, ours and the wasm EP back to back in each of ${results.node.ort.repeats.length} repeats): ` +
      ['decode', 'prefill'].map((k) => { const r = results.node.ort.ranges[`${k}_vs_ort_wasm`]; return `${k}_vs_ort_wasm ${fmt(r.median)} (${fmt(r.min)}-${fmt(r.max)})`; }).join(', ') + '.',
    '',
  ] : []),
  '| MoE decode (Node, bench/moe.ts) | tok/s |',
  '|---|---|',
  ...Object.entries(results.node.moe.tokPerSec).map(([k, v]) => `| ${k} | ${fmt(v)} |`),
  '',
  '| gemv (Node, bench/kernels.ts) | shape | gemv/copy |',
  '|---|---|---|',
  ...results.node.kernels.gemv.map((g) => `| ${g.format} | ${g.rows}x${g.cols} | ${fmt(g.ratio)} |`),
  '',
  ...(results.node.kernels.rowScaling ? [
    `| f16 linear ${results.node.kernels.rowScaling.shape.join('x')}, activation rows (Node) | time / one row |`,
    '|---|---|',
    ...results.node.kernels.rowScaling.results.map((r) => `| ${r.rows} | ${fmt(r.vsOneRow)} |`),
    '',
  ] : []),
].join('\n');
writeFileSync('bench/results/latest.md', md);
console.log(md);
