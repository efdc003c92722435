/**
 * onnxruntime-web as the peer: greedy generation through the exported ONNX model with a KV cache
 * (inputs input_ids, position_ids, past_key_values.{i}.key/value [1, kvHeads, past, headDim];
 * outputs logits [1, seq, vocab], present.{i}.key/value). ORT returns logits to the CPU, so the
 * argmax runs there: that is how a page would use it.
 */
import type * as Ort from 'onnxruntime-web';

export interface OrtModelShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
}

export interface OrtRun {
  tokens: number[];
  prefillMs: number;
  decodeMs: number;
  /** logits [prompt.length, vocab] of the prefill pass */
  prefillLogits: Float32Array;
}

type Feeds = Record<string, Ort.Tensor>;

export async function ortGreedy(ort: typeof Ort, session: Ort.InferenceSession, shape: OrtModelShape, prompt: number[], steps: number): Promise<OrtRun> {
  const t0 = performance.now();
  let out = await session.run(feeds(ort, shape, prompt, 0, null));
  const prefillLogits = (await out.logits.getData()) as Float32Array;
  const prefillMs = performance.now() - t0;
  const tokens = [argmaxRow(prefillLogits, prompt.length - 1, shape.vocab)];
  const t1 = performance.now();
  for (let i = 1; i < steps; i++) {
    const previous = out;
    out = await session.run(feeds(ort, shape, [tokens[i - 1]], prompt.length + i - 1, previous));
    disposePresent(shape, previous);
    const logits = (await out.logits.getData()) as Float32Array;
    tokens.push(argmaxRow(logits, 0, shape.vocab));
  }
  const decodeMs = performance.now() - t1;
  disposePresent(shape, out);
  return { tokens, prefillMs, decodeMs, prefillLogits };
}

function feeds(ort: typeof Ort, s: OrtModelShape, ids: number[], pos0: number, past: Ort.InferenceSession.OnnxValueMapType | null): Feeds {
  const f: Feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(pos0 + i)), [1, ids.length]),
  };
  for (let i = 0; i < s.layers; i++) {
    for (const kv of ['key', 'value']) {
      f[`past_key_values.${i}.${kv}`] = past
        ? (past[`present.${i}.${kv}`] as Ort.Tensor)
        : new ort.Tensor('float32', new Float32Array(0), [1, s.kvHeads, 0, s.headDim]);
    }
  }
  return f;
}

function disposePresent(s: OrtModelShape, out: Ort.InferenceSession.OnnxValueMapType): void {
  (out.logits as Ort.Tensor).dispose?.();
  for (let i = 0; i < s.layers; i++) for (const kv of ['key', 'value']) (out[`present.${i}.${kv}`] as Ort.Tensor).dispose?.();
}

function argmaxRow(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  for (let j = 1; j < vocab; j++) if (logits[row * vocab + j] > logits[row * vocab + best]) best = j;
  return best;
}
