import { chromium, expect, test, type Page, type TestInfo } from '@playwright/test';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';

/**
 * The demo end to end on the shipped tiny-dense model: loading with progress, every strategy, the
 * self-speculative/greedy comparison, superposed autocomplete, abort, stats, and a phone-sized layout.
 * One page is shared so the model loads once; generation lengths stay small for SwiftShader.
 */
test.describe.configure({ mode: 'serial' });

/** Refreshed only on request (UPDATE_README_SCREENSHOT=1), so a test run leaves the checkout clean. */
const README_SCREENSHOT = 'docs/screenshots/demo.png';
let page: Page;
const problems: string[] = [];

async function snapshot(testInfo: TestInfo, name: string): Promise<string> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits for loading to end; a failed load fails at once, with the page's message. */
async function modelReady(): Promise<void> {
  await expect(page.getByTestId('model-panel')).toHaveAttribute('data-state', /ready|error/, { timeout: 90_000 });
  await expect(page.getByTestId('load-status')).toContainText('Ready', { timeout: 1_000 });
}

async function generate(strategy: string, maxTokens: number): Promise<void> {
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('strategy').selectOption(strategy);
  await page.getByTestId('max-tokens').fill(String(maxTokens));
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('generate-view')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('generate-view')).toHaveAttribute('data-state', 'done');
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
});

test.afterAll(async () => {
  await page.close();
});

test.afterEach(async () => {
  expect(problems, 'console errors during the run').toEqual([]);
  await expect(page.getByTestId('banner'), 'no error banner').toBeHidden();
});

test('loads the shipped model with progress and shows the GPU adapter', async ({}, testInfo) => {
  await page.goto('/demo/');
  await expect(page.getByTestId('load-status')).toContainText(/Loading|Ready/);
  await modelReady();
  const progress = page.getByTestId('load-progress');
  expect(await progress.evaluate((p: HTMLProgressElement) => p.value === p.max && p.max > 0)).toBe(true);
  await expect(page.getByTestId('adapter-description')).not.toBeEmpty();
  await expect(page.getByTestId('model-facts')).toContainText('LlamaForCausalLM');
  await snapshot(testInfo, 'model');
});

test('generates with greedy, sample and superposed', async ({}, testInfo) => {
  await page.getByTestId('compare').setChecked(false);
  for (const strategy of ['greedy', 'sample', 'superposed']) {
    await generate(strategy, 24);
    await expect(page.getByTestId('main-output-text')).not.toBeEmpty();
  }
  await expect(page.getByTestId('gen-draft')).toHaveCount(3);
  await snapshot(testInfo, 'generate-superposed');
});

test('self-speculative text is identical to greedy, with acceptance charts', async ({}, testInfo) => {
  await page.getByTestId('compare').setChecked(true);
  await generate('self-speculative', 40);
  const ours = await page.getByTestId('main-output-text').textContent();
  const greedy = await page.getByTestId('greedy-output-text').textContent();
  expect(ours?.length).toBeGreaterThan(0);
  expect(ours).toBe(greedy);
  await expect(page.getByTestId('compare-verdict')).toHaveAttribute('data-identical', 'true');
  await expect(page.getByTestId('compare-speedup')).toContainText('×');
  expect(Number(await page.getByTestId('acceptance-chart').getAttribute('data-points'))).toBeGreaterThan(0);
  expect(Number(await page.getByTestId('rounds-chart').getAttribute('data-points'))).toBeGreaterThan(0);
  await expect(page.locator('[data-testid=main-output-text] [data-origin=corrected], [data-testid=main-output-text] [data-origin=bonus]').first()).toBeVisible();
  // DEL says why it drafted or not, and the legend says what each colour means
  await expect(page.getByTestId('del-reasoning')).toContainText(/DEL: \d+ tokens from drafting rounds, \d+ from plain steps\. Last decision: .* tokens per layer/);
  await expect(page.getByTestId('token-legend')).toContainText('bonus token');
  const shot = await snapshot(testInfo, 'generate-self-speculative');
  await page.getByTestId('generate-view').screenshot({ path: testInfo.outputPath('readme.png') });
  expect(statSync(testInfo.outputPath('readme.png')).size).toBeLessThan(300_000);
  if (process.env.UPDATE_README_SCREENSHOT) {
    mkdirSync('docs/screenshots', { recursive: true });
    copyFileSync(testInfo.outputPath('readme.png'), README_SCREENSHOT);
  }
  expect(shot).toBeTruthy();
});

test('abort stops generation and the page stays usable', async () => {
  await page.getByTestId('compare').setChecked(false);
  await page.getByTestId('strategy').selectOption('greedy');
  await page.getByTestId('max-tokens').fill('400');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('main-output-text')).not.toBeEmpty();
  await page.getByTestId('abort').click();
  await expect(page.getByTestId('generate-view')).toHaveAttribute('data-state', 'aborted');
  await expect(page.getByTestId('gen-status')).toContainText('Aborted');
  await expect(page.getByTestId('generate')).toBeEnabled();
  await generate('greedy', 8);
  await expect(page.getByTestId('main-output-text')).not.toBeEmpty();
});

test('typing yields 3 distinct superposed suggestions and Tab inserts the chosen one', async ({}, testInfo) => {
  await page.getByTestId('tab-drafts').click();
  const input = page.getByTestId('drafts-input');
  const prompt = 'A friend in need';
  await input.pressSequentially(prompt, { delay: 40 });
  await expect(page.getByTestId('drafts-view')).toHaveAttribute('data-state', 'ready');
  const suggestions = page.getByTestId('drafts-suggestion-text');
  await expect(suggestions).toHaveCount(3);
  const texts = await suggestions.allTextContents();
  expect(new Set(texts).size).toBe(3);
  await expect(page.getByTestId('drafts-cost')).toContainText('separate');
  await snapshot(testInfo, 'drafts');
  await input.press('ArrowDown');
  await expect(page.getByTestId('drafts-suggestion').nth(1)).toHaveAttribute('aria-selected', 'true');
  await input.press('Tab');
  await expect(input).toHaveValue(prompt + texts[1]);
  await expect(input).toBeFocused();
});

test('stats show rates, passes and per-kernel GPU time', async ({}, testInfo) => {
  await page.getByTestId('tab-stats').click();
  await expect(page.getByTestId('stats-last')).toContainText('forward passes');
  expect(await page.getByTestId('stats-history').locator('tr').count()).toBeGreaterThan(3);
  await page.getByTestId('kernel-refresh').click();
  await expect(page.getByTestId('kernel-chart')).not.toHaveAttribute('data-points', '0');
  await snapshot(testInfo, 'stats');
});

test('loads the same model from a picked local folder and generates the same text', async () => {
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('prompt').fill('You will');
  await generate('greedy', 12);
  const fromUrl = await page.getByTestId('main-output-text').textContent();
  await page.getByTestId('model-files').setInputFiles('public/models/tiny-dense');
  await expect(page.getByTestId('load-status')).toContainText('files chosen');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-panel')).toHaveAttribute('data-state', 'loading');
  await modelReady();
  await generate('greedy', 12);
  expect(await page.getByTestId('main-output-text').textContent()).toBe(fromUrl);
});

test('dropping model files selects them as the source', async () => {
  await page.getByTestId('model-select').selectOption('files');
  await page.getByTestId('model-drop').evaluate((zone) => {
    const transfer = new DataTransfer();
    for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) transfer.items.add(new File(['{}'], name));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expect(page.getByTestId('load-status')).toContainText('3 files chosen: config.json, tokenizer.json, model.safetensors');
  await expect(page.getByTestId('model-select')).toHaveValue('files');
});

test('loads the shipped MoE model with 4 of 8 experts per layer on the GPU and generates', async () => {
  await page.getByTestId('model-select').selectOption('tiny-moe');
  await page.getByTestId('model-experts').selectOption('4');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-panel')).toHaveAttribute('data-state', 'loading');
  await modelReady();
  await expect(page.getByTestId('model-facts')).toContainText('experts');
  await generate('greedy', 12);
  await expect(page.getByTestId('main-output-text')).not.toBeEmpty();
  await page.getByTestId('tab-stats').click();
  await expect(page.getByTestId('stats-last')).toContainText(/expert cache.*hits.*misses.*prefetched/);
  await page.getByTestId('tab-generate').click();
  // greedy side by side with greedy compares nothing
  await page.getByTestId('strategy').selectOption('greedy');
  await expect(page.getByTestId('compare')).toBeDisabled();
});

test('a budget does not carry over to the next model; a cancelled load leaves no stale model', async () => {
  await page.getByTestId('model-select').selectOption('tiny-dense');
  await expect(page.getByTestId('model-experts')).toHaveValue('');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-panel')).toHaveAttribute('data-state', 'loading');
  await page.getByTestId('model-cancel').click();
  await expect(page.getByTestId('model-panel')).toHaveAttribute('data-state', 'cancelled');
  await expect(page.getByTestId('load-status')).toHaveText('Loading cancelled.');
  await expect(page.getByTestId('model-info')).toBeEmpty();
  await expect(page.getByTestId('gen-status')).toHaveText('Load a model to start.');
  await expect(page.getByTestId('banner')).toBeHidden();
  await page.getByTestId('model-load').click();
  await modelReady();
  await expect(page.getByTestId('model-facts')).toContainText('LlamaForCausalLM');
});

test('fits a phone-sized screen', async ({}, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId('tab-generate').click();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await snapshot(testInfo, 'phone');
});

test('explains a browser without WebGPU', async ({ browser }) => {
  const bare = await browser.newPage();
  await bare.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  await bare.goto('/demo/');
  await expect(bare.getByTestId('banner-message')).toContainText('WebGPU');
  await expect(bare.getByTestId('model-load')).toBeDisabled();
  await bare.close();
});

test('a lost GPU device is explained, and reloading the model recovers', async ({}, testInfo) => {
  // crashing the GPU process is browser-wide: do it in a browser of its own, not the one other specs share
  const own = await chromium.launch(testInfo.project.use.launchOptions);
  const lost = await own.newPage({ baseURL: testInfo.project.use.baseURL });
  const errors: string[] = [];
  lost.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  lost.on('pageerror', (e) => errors.push(e.message));
  await lost.goto('/demo/');
  await expect(lost.getByTestId('model-panel')).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
  await (await own.newBrowserCDPSession()).send('Browser.crashGpuProcess');
  await lost.getByTestId('max-tokens').fill('8');
  await lost.getByTestId('generate').click();
  await expect(lost.getByTestId('generate-view')).toHaveAttribute('data-state', 'error');
  await expect(lost.getByTestId('banner')).toHaveAttribute('data-problem', 'device-lost');
  await expect(lost.getByTestId('banner-message')).toContainText('GPU device was lost');
  await lost.getByTestId('banner-action').click();
  await expect(lost.getByTestId('model-panel')).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
  await lost.getByTestId('generate').click();
  await expect(lost.getByTestId('generate-view')).toHaveAttribute('data-state', 'done');
  await expect(lost.getByTestId('main-output-text')).not.toBeEmpty();
  await expect(lost.getByTestId('banner')).toBeHidden();
  expect(errors).toEqual([]);
  await own.close();
});
