/**
 * Constrained decoding composed with every strategy, on a random-weight model (unconstrained output is never
 * well-formed): JSON schemas, GBNF grammars and regexes all give 100% valid outputs with greedy, sampling,
 * self-speculative (whose output equals constrained greedy: drafts are masked, and verification masks every row
 * with its own position's mask) and superposed decoding (each draft keeps its own grammar state).
 */
import { describe, expect, it } from 'vitest';
import type { GenerateResult, ResponseFormat, Strategy } from '../src/contract/types';
import { compileFormat } from '../src/decode/constraints';
import { useRandomModelRuntime } from './helpers/random_model';
import { SCHEMAS, validate } from './helpers/json_schemas';
import { GRAMMARS, REGEXES, type FormatCase } from './helpers/grammars';

const schemaCase = (name: string): FormatCase => ({
  format: { type: 'json_schema', json_schema: { name, schema: SCHEMAS[name], strict: true } },
  valid: (text) => {
    try {
      return validate(SCHEMAS[name], JSON.parse(text)).length === 0;
    } catch {
      return false;
    }
  },
});

const CASES: [string, FormatCase][] = [
  ...Object.keys(SCHEMAS).map((name): [string, FormatCase] => [`schema ${name}`, schemaCase(name)]),
  ...Object.entries(GRAMMARS).map(([name, c]): [string, FormatCase] => [`grammar ${name}`, c]),
  ...Object.entries(REGEXES).map(([name, c]): [string, FormatCase] => [`regex ${name}`, c]),
];

function validPrefix(format: ResponseFormat, text: string): boolean {
  const { automaton, start } = compileFormat(format)!;
  let s: unknown = start;
  for (const c of text) s = s === undefined ? undefined : automaton.feed(s, c);
  return s !== undefined;
}

const SPECULATIVE: Strategy = { kind: 'self-speculative', exitLayer: 1, draftLength: 3 };

describe('constrained decoding with every strategy (random-weight model)', () => {
  const runtime = useRandomModelRuntime();
  const greedy = new Map<string, GenerateResult>();
  const run = (responseFormat: ResponseFormat, strategy: Strategy) => runtime().generate({ prompt: 'Out:', maxTokens: 120, strategy, responseFormat }, () => undefined);
  const expectValid = (label: string, c: FormatCase, result: GenerateResult) => {
    expect(result.finishReason, `${label}: ${result.text}`).toBe('eos');
    expect(c.valid(result.text), `${label}: ${result.text}`).toBe(true);
  };

  it('unconstrained output is valid for none of the formats', async () => {
    for (const prompt of ['Out:', '[']) {
      const { text } = await runtime().generate({ prompt, maxTokens: 40, stopAtEos: false }, () => undefined);
      for (const [label, c] of CASES) expect(c.valid(text), `${label}: ${text}`).toBe(false);
    }
  });

  it('greedy', async () => {
    for (const [label, c] of CASES) {
      const result = await run(c.format, { kind: 'greedy' });
      expectValid(label, c, result);
      greedy.set(label, result);
    }
  });

  it('self-speculative equals constrained greedy token for token', async () => {
    for (const [label, c] of CASES) {
      const result = await run(c.format, SPECULATIVE);
      expect(result.tokens, label).toEqual(greedy.get(label)!.tokens);
      expect(result.stats.drafted, label).toBeGreaterThan(0);
    }
  });

  it("self-speculative 'auto' (plain bursts and drafting rounds) equals constrained greedy", async () => {
    for (const [label, c] of CASES.filter((_, i) => i % 4 === 0)) {
      expect((await run(c.format, { kind: 'self-speculative' })).tokens, label).toEqual(greedy.get(label)!.tokens);
    }
  });

  it('sampling, alone and (every other format) in self-speculative rounds', async () => {
    for (const [i, [label, c]] of CASES.entries()) {
      expectValid(`${label} sampled`, c, await run(c.format, { kind: 'sample', temperature: 1, seed: 3 }));
      if (i % 2 === 0) expectValid(`${label} speculative sampled`, c, await run(c.format, { ...SPECULATIVE, sampling: { temperature: 1, seed: 5 } }));
    }
  });

  it('superposed: every draft valid', async () => {
    for (const [label, c] of CASES) {
      const events: string[][] = [];
      const result = await runtime().generate({ prompt: 'Out:', maxTokens: 120, strategy: { kind: 'superposed', drafts: 3, ngramWeight: 0 }, responseFormat: c.format }, (ev) => {
        if (ev.type === 'drafts') events.push(ev.drafts.map((d) => d.text));
      });
      expectValid(`${label} superposed`, c, result);
      // the drafts still alive at the end are unfinished: each must be a prefix its grammar allows
      for (const text of result.drafts?.map((d) => d.text) ?? []) expect(c.valid(text) || validPrefix(c.format, text), `${label} draft ${text}`).toBe(true);
      expect(events.length, label).toBeGreaterThan(0);
    }
  });
});
