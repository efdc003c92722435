import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, ModelFormatError } from '../src/contract/errors';
import { FALLBACK_CHAT_TEMPLATE, renderChat } from '../src/model/chat_template';
import { openCheckpoint } from '../src/model/checkpoint';
import { parseConfig } from '../src/model/config';
import { memorySource } from '../src/model/source';
import { Tokenizer } from '../src/model/tokenizer';
import { planWeights } from '../src/model/weight_plan';
import { checkTensors } from '../src/model/weights';
import { directorySource } from '../src/node/source';

const DENSE = 'public/models/tiny-dense';
const shipped = ['tiny-dense', 'tiny-moe'];
const files = (dir: string) => Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, readFileSync(`${dir}/${f}`, 'utf8')]));

describe.skipIf(!existsSync(DENSE))('Tokenizer (tiny-dense)', () => {
  it('encodes with BOS, decodes back, and knows its special ids', async () => {
    const tok = await Tokenizer.load(directorySource(DENSE));
    const text = 'Hello wörld 日本 🙂';
    const ids = tok.encode(text);
    expect(ids[0]).toBe(tok.bosId);
    expect(tok.encode(text, { addBos: false })).toEqual(ids.slice(1));
    expect(tok.decode(ids)).toBe(text);
    expect(tok.eosIds).toContain(tok.tokenId('<|eos|>'));
    expect(tok.vocabSize).toBe(2048);
  });

  it('streams text deltas without splitting multi-byte characters', async () => {
    const tok = await Tokenizer.load(directorySource(DENSE));
    const text = 'Once, a café served 日本茶 🙂🙂 to ünïcode fans.';
    const ids = tok.encode(text, { addBos: false });
    const stream = tok.detokenizer();
    const deltas = ids.map((id) => stream.push([id]));
    deltas.push(stream.flush());
    expect(deltas.join('')).toBe(text);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
    expect(deltas.filter((d) => d === '').length).toBeGreaterThan(0);
  });

  it('rejects a malformed tokenizer.json with ModelFormatError, then loads a good one', async () => {
    const good = files(DENSE);
    const bad: Record<string, string>[] = [
      { ...good, 'tokenizer.json': '{"model": ' },
      { ...good, 'tokenizer.json': '[]' },
      { ...good, 'tokenizer.json': JSON.stringify({ ...JSON.parse(good['tokenizer.json']), model: 7 }) },
      { ...good, 'tokenizer.json': JSON.stringify({ ...JSON.parse(good['tokenizer.json']), decoder: undefined }) },
      { ...good, 'tokenizer_config.json': 'nope' },
    ];
    for (const f of bad) {
      const error = await Tokenizer.load(memorySource(f)).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message).toMatch(/tokenizer(_config)?\.json/);
    }
    expect((await Tokenizer.load(memorySource(good))).vocabSize).toBe(2048);
  });
});

describe.skipIf(!existsSync(DENSE))('chat template', () => {
  const messages = [{ role: 'user', content: 'Hi' }];

  it('renders tokenizer_config.json chat_template with bos/eos and the generation prompt', async () => {
    const tok = await Tokenizer.load(directorySource(DENSE));
    expect(renderChat(tok, messages)).toBe('<|bos|>user: Hi<|eos|>\nassistant:');
    expect(renderChat(tok, messages, { addGenerationPrompt: false })).toBe('<|bos|>user: Hi<|eos|>\n');
    const ids = tok.encode(renderChat(tok, messages), { addBos: false });
    expect(ids[0]).toBe(tok.bosId);
    expect(ids).toContain(tok.eosIds[0]);
  });

  it('falls back to a plain template, and reports template errors', async () => {
    const good = files(DENSE);
    const config = JSON.parse(good['tokenizer_config.json']);
    const without = await Tokenizer.load(memorySource({ ...good, 'tokenizer_config.json': JSON.stringify({ ...config, chat_template: undefined }) }));
    expect(without.chatTemplate).toBeUndefined();
    expect(renderChat(without, messages)).toBe('<|bos|>user: Hi\nassistant:');
    expect(FALLBACK_CHAT_TEMPLATE).toContain('add_generation_prompt');
    const broken = await Tokenizer.load(memorySource({ ...good, 'tokenizer_config.json': JSON.stringify({ ...config, chat_template: '{% for %}' }) }));
    expect(() => renderChat(broken, messages)).toThrow(ModelFormatError);
    const strict = await Tokenizer.load(memorySource({ ...good, 'tokenizer_config.json': JSON.stringify({ ...config, chat_template: "{% if messages[0]['role'] != 'system' %}{{ raise_exception('system first') }}{% endif %}" }) }));
    expect(() => renderChat(strict, messages)).toThrow(InvalidRequestError);
  });
});

describe('shipped models: safetensors header, config and tokenizer agree', () => {
  const present = existsSync('public/models') ? readdirSync('public/models') : [];
  for (const name of shipped) {
    const dir = `public/models/${name}`;
    const ready = present.includes(name) && existsSync(`${dir}/config.json`);
    it.skipIf(!ready)(ready ? name : `${name} (skipped: ${dir} does not exist yet)`, async () => {
      const config = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')));
      const checkpoint = await openCheckpoint(directorySource(dir), undefined, config.selfSpeculative?.adapterFile);
      await checkpoint.close();
      checkTensors(planWeights(config), checkpoint);
      const tok = await Tokenizer.load(directorySource(dir));
      expect(tok.vocabSize).toBeLessThanOrEqual(config.vocab);
      expect(tok.vocabSize).toBeGreaterThan(config.vocab - 64);
      expect(tok.bosId).toBe(config.bosTokenId);
      for (const id of config.eosTokenIds) expect(tok.eosIds).toContain(id);
      for (const id of [tok.bosId, ...tok.eosIds]) if (id !== undefined) expect(tok.decode([id], { skipSpecial: false }).length).toBeGreaterThan(0);
    });
  }
});
