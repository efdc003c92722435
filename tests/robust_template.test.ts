/**
 * Chat templates run under a step budget: a template that loops 1e9 times (or for ever) stops with a typed
 * error in bounded time, real templates render exactly as the library renders them, and the engine stays usable.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/contract/errors';
import type { ChatMessage } from '../src/contract/types';
import { FALLBACK_CHAT_TEMPLATE, renderChat } from '../src/model/chat_template';
import type { Tokenizer } from '../src/model/tokenizer';
import { createEngine } from '../src/node/index';
import { LOOPING_TEMPLATE } from './helpers/static_server';

const MODEL = 'public/models/tiny-dense';
const tokenizerWith = (text: string) => ({ chatTemplate: { text, file: 'tokenizer_config.json' }, bosToken: '<s>', eosToken: '</s>' }) as unknown as Tokenizer;
const turns = (n: number): ChatMessage[] => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }) as const);

const HOSTILE: Record<string, string> = {
  'a loop of 1e9': LOOPING_TEMPLATE,
  'nested loops of 1e5 x 1e5': '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}',
  'messages cubed': '{% for a in messages %}{% for b in messages %}{% for c in messages %}{{ c.content }}{% endfor %}{% endfor %}{% endfor %}',
};

describe('chat template budget', () => {
  it('hostile templates stop with ModelFormatError in bounded time', () => {
    for (const [what, template] of Object.entries(HOSTILE)) {
      const started = performance.now();
      const error = (() => {
        try {
          renderChat(tokenizerWith(template), turns(200));
        } catch (e) {
          return e;
        }
      })();
      const ms = performance.now() - started;
      expect(error, what).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message, what).toMatch(/chat template ran past its \d+ ms budget/);
      console.log(`${what}: stopped after ${ms.toFixed(0)} ms`);
      expect(ms, what).toBeLessThan(5000);
    }
  });

  it('real templates render exactly as the library renders them, up to 10k turns', async () => {
    const config = JSON.parse(await readFile(join(MODEL, 'tokenizer_config.json'), 'utf8')) as { chat_template: string };
    const dated = "{{ bos_token }}Today is {{ strftime_now('%d %b %Y') }}.{% for m in messages %}{% if loop.index0 % 2 == 0 %}[{{ m.role }}]{% endif %}{{ m.content }}{% endfor %}{% for i in range(3) %}{{ i }}{% endfor %}";
    for (const template of [config.chat_template, FALLBACK_CHAT_TEMPLATE, dated]) {
      for (const messages of [turns(1), turns(7), turns(10_000)]) {
        const variables = { messages, add_generation_prompt: true, bos_token: '<s>', eos_token: '</s>' };
        expect(renderChat(tokenizerWith(template), messages)).toBe(new Template(template).render(variables));
      }
    }
  });

  it('an engine whose template loops answers chat with ModelFormatError and stays usable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'template-model-'));
    try {
      for (const f of ['config.json', 'model.safetensors', 'adapter.safetensors', 'tokenizer.json', 'generation_config.json']) await copyFile(join(MODEL, f), join(dir, f));
      const config = JSON.parse(await readFile(join(MODEL, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: HOSTILE['a loop of 1e9'] }));
      const engine = await createEngine({ model: dir });
      try {
        const request = { prompt: 'Once upon a time', maxTokens: 8, stopAtEos: false };
        const before = (await engine.complete(request)).tokens;
        const messages = turns(1);
        await expect(engine.chat.completions.create({ messages, max_tokens: 4 })).rejects.toBeInstanceOf(ModelFormatError);
        expect((await engine.complete(request)).tokens).toEqual(before);
      } finally {
        await engine.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
