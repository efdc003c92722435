import { describe, expect, it } from 'vitest';
import { loadRuntime, greedyRun } from './helpers/runtime';
import { fixtureModels, FIXTURE_MODELS, isMoe, readFixture } from './helpers/fixtures';
import { relativeError } from './helpers/reference';

/** MoE forward pass vs the PyTorch reference (tools/train/reference.py), same bound as the dense models. */
const LOGIT_TOLERANCE = 2e-3;

const models: [name: string, dir: string, fixture: string][] = [
  ...fixtureModels(isMoe).map((m) => [m, `${FIXTURE_MODELS}/${m}`, `${FIXTURE_MODELS}/${m}/fixture.safetensors`] as [string, string, string]),
  ['tiny-moe', 'public/models/tiny-moe', 'tests/fixtures/tiny-moe.safetensors'],
];

describe.each(models)('%s', (_name, dir, fixturePath) => {
  const fixture = readFixture(fixturePath);

  it('matches reference logits at every position for prompts of length 1, 7, 45', async () => {
    const runtime = await loadRuntime(dir);
    for (const len of [1, 7, 45]) {
      const logits = await runtime.logits(Array.from(fixture[`prompt_len${len}`]));
      expect(relativeError(logits, fixture[`logits_len${len}`]), `prompt length ${len}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    }
    runtime.dispose();
  });

  it('continues greedily exactly like the reference', async () => {
    const runtime = await loadRuntime(dir);
    const expected = Array.from(fixture.greedy_tokens);
    expect((await greedyRun(runtime, Array.from(fixture.greedy_prompt), expected.length)).tokens).toEqual(expected);
    runtime.dispose();
  });
});
