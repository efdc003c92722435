/**
 * Test-only, added to the README's page by the consumer test: what Playwright drives through the public API
 * of the installed package (streaming self-speculative decoding, chat, abort, typed errors).
 */
import { hostile, unload } from './hostile';
import { createEngine, AbortError, InferError, ModelFormatError, type GenerateEvent, type LoadProgress } from 'webgpu-infer';

export async function run() {
  const progress: LoadProgress[] = [];
  const engine = await createEngine({ model: '/models/tiny-dense/', onProgress: (p) => progress.push(p) });
  const events: GenerateEvent[] = [];
  for await (const ev of engine.generate({ prompt: 'Once upon a time', maxTokens: 24, stopAtEos: false, strategy: { kind: 'self-speculative', exitLayer: 1, draftLength: 3 } })) {
    events.push(ev);
  }
  const chat = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a fortune' }], max_tokens: 12 });

  const controller = new AbortController();
  let aborted: boolean | undefined;
  for await (const ev of engine.generate({ prompt: 'The little robot', maxTokens: 200, stopAtEos: false, signal: controller.signal })) {
    if (ev.type === 'tokens') controller.abort();
    if (ev.type === 'done') aborted = ev.result.aborted;
  }
  const afterAbort = (await engine.complete({ prompt: 'x', maxTokens: 3 })).tokens.length;
  await engine.dispose();

  const error = await createEngine({ model: '/models/no-such-model/' }).catch((e: unknown) => e);
  const cancelled = new AbortController();
  cancelled.abort();
  const abortError = await createEngine({ model: '/models/tiny-dense/', signal: cancelled.signal }).catch((e: unknown) => e);
  return {
    phases: [...new Set(progress.map((p) => p.phase))],
    partialProgress: progress.some((p) => p.loadedBytes > 0 && p.loadedBytes < p.totalBytes),
    tokenEvents: events.filter((e) => e.type === 'tokens').length,
    origins: [...new Set(events.flatMap((e) => (e.type === 'tokens' ? e.origins ?? [] : [])))],
    done: events.at(-1)?.type === 'done' ? (events.at(-1) as Extract<GenerateEvent, { type: 'done' }>).result.stats : undefined,
    chat: { object: chat.object, content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason },
    aborted,
    afterAbort,
    typedError: {
      instanceOfModelFormatError: error instanceof ModelFormatError,
      instanceOfInferError: error instanceof InferError,
      name: (error as Error).name,
      code: (error as InferError).code,
      constructorIsClass: (error as Error).constructor === ModelFormatError,
    },
    abortError: abortError instanceof AbortError,
  };
}

Object.assign(window, { consumerProbe: run, consumerHostile: hostile, consumerUnload: unload });
