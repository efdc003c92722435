import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { testGpu } from './helpers/gpu';
import { relativeError } from './helpers/reference';
import { directorySource } from '../src/node/source';
import { Runtime } from '../src/runtime/runtime';
import { ortGreedy } from '../bench/ort_runner';

/**
 * Our logits and greedy tokens vs onnxruntime-web (wasm EP) running the exported ONNX of each shipped model that keeps
 * one (tiny-dense; tiny-moe's export is made by tools/train but not kept in the repository).
 */
const SHIPPED = ['tiny-dense', 'tiny-moe'].filter((m) => existsSync(`public/models/${m}/onnx/model.onnx`));
const PROMPT = 'The best way to predict the future is to invent it.';

describe.each(SHIPPED)('%s vs onnxruntime-web', (name) => {
  it('agrees on prefill logits and greedy continuation', async () => {
    ort.env.wasm.numThreads = 1;
    const dir = `public/models/${name}`;
    const runtime = await Runtime.load(await testGpu(), directorySource(dir), { contextLength: 256 });
    const session = await ort.InferenceSession.create(readFileSync(`${dir}/onnx/model.onnx`), { executionProviders: ['wasm'] });
    const c = runtime.config;
    const prompt = runtime.tokenize(PROMPT);
    const reference = await ortGreedy(ort, session, { layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim, vocab: c.vocab }, prompt, 24);
    expect(relativeError(await runtime.logits(prompt), reference.prefillLogits)).toBeLessThanOrEqual(2e-3);
    const ours = await runtime.generate({ prompt, maxTokens: 24, stopAtEos: false }, () => undefined);
    expect(ours.tokens).toEqual(reference.tokens);
    await session.release();
    runtime.dispose();
  });
});
