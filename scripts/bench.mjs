#!/usr/bin/env node
// `npm run bench`: kernel and MoE benchmarks in Node (Dawn), then the browser page bench/index.html in
// Chromium (ours vs onnxruntime-web, strategies vs greedy). Writes bench/results/latest.{json,md}.
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

async function runBrowserBench() {
  const server = await createServer({ logLevel: 'error', server: { port: 5175, strictPort: true, host: '127.0.0.1' } });
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
    await page.goto('http://127.0.0.1:5175/bench/index.html');
    const handle = await page.waitForFunction(() => window.benchResults, null, { timeout: 20 * 60_000, polling: 1000 });
    return await handle.jsonValue();
  } finally {
    await browser.close();
    await server.close();
  }
}

results.node.kernels = runNodeBench('bench/kernels.ts', 'bench/results/kernels.json');
results.node.moe = runNodeBench('bench/moe.ts', 'bench/results/moe.json');
console.log('bench: browser page (ours vs onnxruntime-web)');
results.browser = await runBrowserBench();
if (results.browser.error) throw new Error(`browser bench failed: ${results.browser.error}`);

const b = results.browser;
results.ratios = {
  decode_vs_ort_webgpu: b.ours.decodeTokPerS / b.ortWebgpu.decodeTokPerS,
  prefill_vs_ort_webgpu: b.ours.prefillTokPerS / b.ortWebgpu.prefillTokPerS,
  decode_vs_ort_wasm: b.ours.decodeTokPerS / b.ortWasm.decodeTokPerS,
  prefill_vs_ort_wasm: b.ours.prefillTokPerS / b.ortWasm.prefillTokPerS,
  gemv_vs_copy_bandwidth: results.node.kernels.ratios?.gemv_vs_copy_bandwidth,
  self_speculative_speedup: b.ours.selfSpeculativeDecodeTokPerS / b.ours.decodeTokPerS,
  superposed_k3_vs_3_passes: b.ours.threeSeparateRunsMs / b.ours.superposedK3Ms,
  moe_vs_dense_active: results.node.moe.ratios?.moe_vs_dense_active,
  sparse_gemv_50pct_speedup: results.node.moe.ratios?.sparse_gemv_50pct_speedup,
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
  ...Object.entries(results.ratios).map(([k, v]) => `| ${k} | ${fmt(v)} |`),
  '',
  '| runtime | prefill tok/s | decode tok/s | same greedy tokens as ours |',
  '|---|---|---|---|',
  `| webgpu-infer | ${fmt(b.ours.prefillTokPerS)} | ${fmt(b.ours.decodeTokPerS)} | - |`,
  `| onnxruntime-web webgpu | ${fmt(b.ortWebgpu.prefillTokPerS)} | ${fmt(b.ortWebgpu.decodeTokPerS)} | ${b.ortWebgpu.sameTokensAsOurs} |`,
  `| onnxruntime-web wasm | ${fmt(b.ortWasm.prefillTokPerS)} | ${fmt(b.ortWasm.decodeTokPerS)} | ${b.ortWasm.sameTokensAsOurs} |`,
  '',
].join('\n');
writeFileSync('bench/results/latest.md', md);
console.log(md);
