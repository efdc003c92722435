/** The JSON automaton, the schema compiler and the token-trie masks, on the CPU. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateChatRequest } from '../src/contract/validate';
import type { ChatCompletionRequest } from '../src/contract/types';
import { accepting, complete, documentStack, feed, JSON_AUTOMATON, type Stack } from '../src/decode/constraints/json_grammar';
import { compileSchema, FREE_OBJECT } from '../src/decode/constraints/json_schema';
import { AutomatonConstraint, compileFormat, TokenTrie } from '../src/decode/constraints';
import { InvalidRequestError } from '../src/contract/errors';
import { SCHEMAS, validate } from './helpers/json_schemas';

function accepts(schema: unknown, text: string): boolean {
  let s: Stack | undefined = documentStack(compileSchema(schema));
  for (const c of text) s = s && feed(s, c);
  return s !== undefined && accepting(s);
}

/** A random walk through the automaton over an alphabet: every step picks one allowed character. */
function randomDocument(node: ReturnType<typeof compileSchema>, seed: number): string {
  const alphabet = [...'{}[]",:-.0123456789eE+abcdefghijklmnopqrstuvwxyz "\\/ABCXYZ_'];
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let s: Stack = documentStack(node);
  let text = '';
  for (let n = 0; n < 5000 && !complete(s); n++) {
    if (accepting(s) && random() < 0.3) break;
    const options = alphabet.map((c) => [c, feed(s, c)] as const).filter(([, next]) => next !== undefined);
    if (options.length === 0 && accepting(s)) break; // complete, and nothing may follow (a top-level 0): only the end
    if (options.length === 0) throw new Error(`dead end after ${JSON.stringify(text)}`);
    const [c, next] = options[Math.floor(random() * options.length)];
    text += c;
    s = next!;
  }
  return text;
}

describe('JSON automaton', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`random walks of "${name}" parse and validate`, () => {
      const node = compileSchema(schema);
      for (let seed = 1; seed <= 40; seed++) {
        const text = randomDocument(node, seed);
        expect(validate(schema, JSON.parse(text)), text).toEqual([]);
      }
    });
  }

  it('json_object walks give objects', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const value = JSON.parse(randomDocument(FREE_OBJECT, seed));
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
  });

  it('accepts valid compact documents and refuses invalid ones', () => {
    const { person, union, optional, tags } = SCHEMAS;
    expect(accepts(person, '{"name":"Al","age":-30}')).toBe(true);
    expect(accepts(person, '{"age":30,"name":"Al"}')).toBe(false); // declared order
    expect(accepts(person, '{"name":"Al"}')).toBe(false);
    expect(accepts(person, '{"name":"Al","age":3.5}')).toBe(false);
    expect(accepts(person, '{"name":"Al","age":01}')).toBe(false);
    expect(accepts(person, '{ "name":"Al","age":1}')).toBe(false); // no whitespace
    expect(accepts(person, '{"name":"a\\u00e9\\n","age":0}')).toBe(true);
    expect(accepts(person, '{"name":"abcdefghijklm","age":0}')).toBe(false); // maxLength 12
    expect(accepts(union, '{"value":12}') && accepts(union, '{"value":"ab"}') && accepts(union, '{"value":null}')).toBe(true);
    expect(accepts(union, '{"value":true}')).toBe(false);
    expect(accepts(optional, '{"c":"x"}') && accepts(optional, '{"a":1,"c":"x"}') && accepts(optional, '{"b":false,"c":"x"}')).toBe(true);
    expect(accepts(optional, '{"a":1}')).toBe(false);
    expect(accepts(tags, '{"tags":[]}')).toBe(false);
    expect(accepts(tags, '{"tags":["a","b","c","d"]}')).toBe(false);
    expect(accepts({ type: 'number' }, '-1.5e+3')).toBe(true);
  });

  it('refuses schema keywords outside the subset by path', () => {
    expect(() => compileSchema({ type: 'string', pattern: '^a' })).toThrow(InvalidRequestError);
    expect(() => compileSchema({ type: 'object', properties: { a: { type: 'integer', minimum: 0 } } })).toThrow(/properties\.a\.minimum/);
    expect(() => compileSchema({ $ref: '#/defs/x' })).toThrow(/type/);
    expect(() => compileFormat({ type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'date' } } })).toThrow(/format/);
  });
});

describe('token trie masks', () => {
  const texts = ['', '{"', '{', '}', '"', 'name', '":"', 'Al', '","', 'age', '":', '1', '23', '0', '-', '\uFFFD', 'a b', ':', ',', '"name":', '},', 'abcdefghijk', '\\n', '\t', '"}'];
  const eos = [0];

  it('equal a brute-force check of every token', () => {
    const trie = new TokenTrie(texts);
    const node = compileSchema(SCHEMAS.person);
    const constraint = new AutomatonConstraint(trie, JSON_AUTOMATON, documentStack(node), eos);
    let s: Stack = documentStack(node);
    // through a string body (the length-list fast path: 'abcdefghijk' fits maxLength 12 once, '\t' never) and the rest
    for (const token of [1, 5, 6, 21, 8, 9, 10, 12]) {
      const words = constraint.mask();
      const expected = texts.map((t, id) => {
        if (eos.includes(id)) return accepting(s);
        if (t.length === 0 || t.includes('\uFFFD')) return false;
        let x: Stack | undefined = s;
        for (const c of t) x = x && feed(x, c);
        return x !== undefined;
      });
      expect(texts.map((_, id) => (words[id >>> 5] & (1 << (id & 31))) !== 0)).toEqual(expected);
      expect(expected[token]).toBe(true);
      constraint.advance(token);
      for (const c of texts[token]) s = feed(s, c)!;
    }
    // '{"name":"abcdefghijk","age":23' may end with '}' only
    const last = constraint.mask();
    expect(texts.map((_, id) => (last[id >>> 5] & (1 << (id & 31))) !== 0).flatMap((on, id) => (on ? [texts[id]] : []))).toEqual(['}', '1', '23', '0']);
  });
});

describe('fuzz', () => {
  it('any JSON value as a schema compiles or is an InvalidRequestError', () => {
    fc.assert(fc.property(fc.jsonValue(), (schema) => {
      try {
        compileSchema(schema);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidRequestError);
      }
    }), { numRuns: 1000 });
  });

  /** Schemas of the supported subset; keys and enum strings over the random walk's alphabet. */
  const word = fc.stringMatching(/^[a-z_ ]{0,4}$/);
  const subsetSchema = fc.letrec<{ schema: unknown }>((tie) => ({
    schema: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom({ type: 'integer' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }, { type: ['string', 'null'], maxLength: 3 }),
      fc.record({ type: fc.constant('string'), maxLength: fc.nat(8) }),
      fc.record({ enum: fc.uniqueArray(fc.oneof(word, fc.integer(), fc.boolean(), fc.constant(null)), { minLength: 1, maxLength: 4, selector: (v) => JSON.stringify(v) }) }),
      fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ type: fc.constant('array'), items: tie('schema'), maxItems: fc.integer({ min: 0, max: 3 }) }),
      fc.dictionary(word.filter((w) => w.length > 0), tie('schema'), { maxKeys: 3 }).chain((properties) => fc.subarray(Object.keys(properties)).map((required) => ({
        type: 'object', properties, required, additionalProperties: false,
      }))),
    ),
  })).schema;

  it('random walks of random subset schemas parse and validate', () => {
    fc.assert(fc.property(subsetSchema, fc.integer({ min: 1, max: 1000 }), (schema, seed) => {
      const text = randomDocument(compileSchema(schema), seed);
      expect(validate(schema, JSON.parse(text)), `${JSON.stringify(schema)} -> ${text}`).toEqual([]);
    }), { numRuns: 300 });
  });

  it('chat request fields of any value are refused by name or accepted', () => {
    const limits = { vocab: 100, contextLength: 64, layers: 2, maxDraftLength: 15 };
    const fields = ['n', 'frequency_penalty', 'presence_penalty', 'repetition_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'response_format', 'tools', 'tool_choice', 'max_completion_tokens'];
    fc.assert(fc.property(fc.constantFrom(...fields), fc.anything(), (field, value) => {
      try {
        validateChatRequest({ messages: [{ role: 'user', content: 'x' }], [field]: value } as ChatCompletionRequest, limits);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidRequestError);
      }
    }), { numRuns: 2000 });
  });
});
