import { describe, expect, it } from 'vitest';
import { loadRuntime, greedyRun } from './helpers/runtime';
import { argmaxRows, fixtureModels, FIXTURE_MODELS, readFixture } from './helpers/fixtures';
import { relativeError } from './helpers/reference';

/** Forward pass (dense and MoE) vs the PyTorch reference (tools/train/reference.py) at every position. */
const LOGIT_TOLERANCE = 2e-3;

const models: [name: string, dir: string, fixture: string][] = [
  ...fixtureModels().map((m) => [m, `${FIXTURE_MODELS}/${m}`, `${FIXTURE_MODELS}/${m}/fixture.safetensors`] as [string, string, string]),
  ...['tiny-dense', 'tiny-moe'].map((m) => [m, `public/models/${m}`, `tests/fixtures/${m}.safetensors`] as [string, string, string]),
];

describe.each(models)('%s', (name, dir, fixturePath) => {
  const fixture = readFixture(fixturePath);

  it('matches reference logits at every position for prompts of length 1, 7, 45', async () => {
    const runtime = await loadRuntime(dir);
    let worst = 0;
    for (const len of [1, 7, 45]) {
      const ids = Array.from(fixture[`prompt_len${len}`]);
      const error = relativeError(await runtime.logits(ids), fixture[`logits_len${len}`]);
      expect(error, `prompt length ${len}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      worst = Math.max(worst, error);
    }
    console.log(`${name}: worst relative logits error ${worst.toExponential(2)}`);
    runtime.dispose();
  });

  it('continues greedily exactly like the reference', async () => {
    const runtime = await loadRuntime(dir);
    const expected = Array.from(fixture.greedy_tokens);
    expect((await greedyRun(runtime, Array.from(fixture.greedy_prompt), expected.length)).tokens).toEqual(expected);
    runtime.dispose();
  });
});

describe('sampling', () => {
  it('is reproducible for a seed and differs across seeds', async () => {
    const runtime = await loadRuntime('public/models/tiny-dense');
    const run = (seed: number) =>
      runtime.generate({ prompt: 'Once upon a time', maxTokens: 24, stopAtEos: false, strategy: { kind: 'sample', temperature: 1, topK: 50, topP: 0.95, seed } }, () => undefined);
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    runtime.dispose();
  });
});

describe.each(['q8', 'q4'] as const)('%s quantization', (quantize) => {
  it('keeps top-1 agreement >= 95% with the unquantized model over the fixture prompts', async () => {
    const fixture = readFixture('tests/fixtures/tiny-dense.safetensors');
    const runtime = await loadRuntime('public/models/tiny-dense', { quantize });
    let agree = 0, total = 0;
    for (const len of [1, 7, 45]) {
      const vocab = runtime.config.vocab;
      const ours = argmaxRows(await runtime.logits(Array.from(fixture[`prompt_len${len}`])), vocab);
      const reference = argmaxRows(fixture[`logits_len${len}`], vocab);
      agree += ours.filter((t, i) => t === reference[i]).length;
      total += ours.length;
    }
    expect(runtime.info.dtype).toBe(quantize);
    expect(agree / total).toBeGreaterThanOrEqual(0.95);
    runtime.dispose();
  });
});

describe('q8 quantization of a MoE model whose expert width is not a multiple of the quantization block', () => {
  it('keeps gate, up and down of the experts in one unquantized format and stays close to the reference', async () => {
    const dir = `${FIXTURE_MODELS}/qwen2moe-rand`;
    const fixture = readFixture(`${dir}/fixture.safetensors`);
    const runtime = await loadRuntime(dir, { quantize: 'q8' });
    const formats = ['gate', 'up', 'down'].map((m) => runtime.weights.layers[0].moe![m as 'gate' | 'up' | 'down'].format);
    expect(new Set(formats).size).toBe(1);
    expect(formats[0]).not.toBe('q8');
    const vocab = runtime.config.vocab;
    const ours = argmaxRows(await runtime.logits(Array.from(fixture.prompt_len45)), vocab);
    const reference = argmaxRows(fixture.logits_len45, vocab);
    expect(ours.filter((t, i) => t === reference[i]).length / ours.length).toBeGreaterThanOrEqual(0.9);
    runtime.dispose();
  });
});
