/** Constrained decoding: response formats compiled once (cached by their text), advanced per token, masks computed on the CPU. */
import type { ResponseFormat } from '../../contract/types';
import { AutomatonConstraint, type CharAutomaton } from './automaton';
import { JSON_AUTOMATON, documentStack } from './json_grammar';
import { compileSchema, FREE_OBJECT } from './json_schema';
import { compileGrammar } from './grammar';
import { parseGbnf } from './gbnf';
import { parseRegex } from './regex';
import type { TokenTrie } from './token_trie';


export { TokenTrie } from './token_trie';
export { AutomatonConstraint } from './automaton';

/** A compiled format: its automaton and start state, and per vocabulary the masks of its states computed so far. */
interface Compiled {
  automaton: CharAutomaton<unknown>;
  start: unknown;
  masks: WeakMap<TokenTrie, Map<string, Uint32Array<ArrayBuffer>>>;
}

/** Compiled formats by their text (a chat sends the same schema or grammar every turn). */
const compiled = new Map<string, Compiled>();
const COMPILED_MAX = 32;

function compile(format: Exclude<ResponseFormat, { type: 'text' }>): Compiled {
  const entry = (automaton: CharAutomaton<unknown>, start: unknown): Compiled => ({ automaton, start, masks: new WeakMap() });
  switch (format.type) {
    case 'json_object': return entry(JSON_AUTOMATON as CharAutomaton<unknown>, documentStack(FREE_OBJECT));
    case 'json_schema': return entry(JSON_AUTOMATON as CharAutomaton<unknown>, documentStack(compileSchema(format.json_schema.schema ?? {})));
    case 'grammar': {
      const g = compileGrammar('response_format.grammar', parseGbnf(format.grammar, 'response_format.grammar'), 'root');
      return entry(g as CharAutomaton<unknown>, g.start);
    }
    case 'regex': {
      const g = compileGrammar('response_format.regex', parseRegex(format.regex, 'response_format.regex'), 'root');
      return entry(g as CharAutomaton<unknown>, g.start);
    }
  }
}

/**
 * The compiled form of a response format (cached), or undefined for plain text. A format outside the supported
 * subset throws InvalidRequestError here, before any GPU work.
 */
export function compileFormat(format: ResponseFormat | undefined): Compiled | undefined {
  if (!format || format.type === 'text') return undefined;
  const key = format.type === 'json_schema' ? `s${JSON.stringify(format.json_schema.schema ?? {})}`
    : format.type === 'grammar' ? `g${format.grammar}` : format.type === 'regex' ? `r${format.regex}` : 'o';
  let c = compiled.get(key);
  if (!c) {
    c = compile(format);
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, c);
  }
  return c;
}

/** One request's constraint at the start of its output. */
export function startConstraint(trie: TokenTrie, format: Compiled, eosIds: readonly number[]): AutomatonConstraint<unknown> {
  let masks = format.masks.get(trie);
  if (!masks) format.masks.set(trie, (masks = new Map()));
  return new AutomatonConstraint(trie, format.automaton, format.start, eosIds, undefined, masks);
}
