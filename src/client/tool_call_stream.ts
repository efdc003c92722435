/**
 * Tool calls streamed as OpenAI streams them: while a choice is generated, text that cannot begin a call streams as
 * content; once a call's `{"name": "...", "arguments": ` is seen (after `<tool_call>`, `[TOOL_CALLS]`,
 * `<|python_tag|>`, or as the whole reply), one delta opens the call (index, id, type, name) and the arguments
 * stream as they are written, compacted (whitespace outside strings dropped). When the choice ends, parseToolCalls
 * has the last word: calls it finds that were not streamed (other key orders) follow whole.
 */
import type { ChatTool, ChatToolCallDelta } from '../contract/types';
import { callId, parseToolCalls } from './tool_calls';

const MARKERS = ['<tool_call>', '[TOOL_CALLS]', '<|python_tag|>'];
const CALL_HEAD = /^\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"(?:arguments|parameters)"\s*:\s*(?=\{)/;

/** True once `text` (from a '{') can no longer grow into CALL_HEAD: another first key, or a whole head of another shape. */
function cannotBeHead(text: string): boolean {
  return text.length > 200 || /^\{\s*"(?!name")[^"]*"/.test(text) || /^\{\s*"name"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"[^"]*"\s*:\s*\S/.test(text) || /^\{\s*[^\s"]/.test(text);
}

export type StreamDelta = { content: string } | { tool_calls: ChatToolCallDelta[] };

export class ToolCallStream {
  private text = '';
  /** characters of text already sent as content */
  private sentContent = 0;
  /** where the calls begin (a marker or the reply's first '{'), once seen */
  private callsFrom: number | undefined;
  /** scan position in the calls region, and the state of the arguments value being streamed */
  private at = 0;
  private args: { depth: number; inString: boolean; escaped: boolean } | undefined;
  /** calls opened so far (their compacted arguments) */
  private readonly streamed: { name: string; args: string }[] = [];
  private stuck = false;

  constructor(private readonly tools: ChatTool[]) {}

  push(delta: string): StreamDelta[] {
    this.text += delta;
    const out: StreamDelta[] = [];
    if (this.callsFrom === undefined) {
      const start = this.callStart();
      const safe = start ?? this.heldBack();
      const piece = this.text.slice(this.sentContent, safe);
      const leadingSpace = start !== undefined && this.sentContent === 0 && piece.trim() === ''; // before a bare call
      if (piece && !leadingSpace) out.push({ content: piece });
      this.sentContent = Math.max(this.sentContent, safe);
      if (start === undefined) return out;
      this.callsFrom = this.at = start;
    }
    while (!this.stuck && this.at < this.text.length) {
      if (!this.args) {
        const open = this.text.indexOf('{', this.at);
        if (open < 0) break;
        const head = CALL_HEAD.exec(this.text.slice(open));
        if (!head) {
          // a head not yet complete waits for more text; one that cannot match leaves the calls to the final parse
          if (!cannotBeHead(this.text.slice(open))) break;
          this.stuck = true;
          break;
        }
        const name = JSON.parse(`"${head[1]}"`) as string;
        if (!this.tools.some((t) => t.function.name === name)) {
          this.stuck = true;
          break;
        }
        const index = this.streamed.length;
        this.streamed.push({ name, args: '' });
        out.push({ tool_calls: [{ index, id: callId(), type: 'function', function: { name, arguments: '' } }] });
        this.at = open + head[0].length;
        this.args = { depth: 0, inString: false, escaped: false };
      }
      const piece = this.scanArguments();
      if (piece) {
        this.streamed[this.streamed.length - 1].args += piece;
        out.push({ tool_calls: [{ index: this.streamed.length - 1, function: { arguments: piece } }] });
      }
      if (this.args) break; // the value continues in later text
    }
    return out;
  }

  /** The deltas that end the choice, and whether it ended in tool calls. */
  finish(): { deltas: StreamDelta[]; called: boolean } {
    const parsed = parseToolCalls(this.text, this.tools);
    if (!parsed) {
      const rest = this.text.slice(this.sentContent);
      return { deltas: rest ? [{ content: rest }] : [], called: this.streamed.length > 0 };
    }
    const whole = parsed.calls.slice(this.streamed.length).map((call, i) => ({ index: this.streamed.length + i, ...call }));
    return { deltas: whole.length ? [{ tool_calls: whole }] : [], called: true };
  }

  /** Where a call begins: a marker, or a reply that opens with '{'. */
  private callStart(): number | undefined {
    const found = MARKERS.map((m) => this.text.indexOf(m)).filter((i) => i >= 0);
    if (found.length) return Math.min(...found);
    const lead = this.text.length - this.text.trimStart().length;
    return this.text[lead] === '{' && this.sentContent === 0 ? lead : undefined;
  }

  /** Content that is safe to send: all but a tail that may still grow into a marker (or leading whitespace). */
  private heldBack(): number {
    if (this.text.trim() === '') return 0;
    for (let k = Math.min(this.text.length, Math.max(...MARKERS.map((m) => m.length))); k > 0; k--) {
      const tail = this.text.slice(-k);
      if (MARKERS.some((m) => m.startsWith(tail))) return this.text.length - k;
    }
    return this.text.length;
  }

  /** The compacted arguments text from `at` up to the end of the value or of the text; clears `args` at the value's end. */
  private scanArguments(): string {
    const s = this.args!;
    let piece = '';
    for (; this.at < this.text.length; this.at++) {
      const c = this.text[this.at];
      if (s.inString) {
        piece += c;
        if (s.escaped) s.escaped = false;
        else if (c === '\\') s.escaped = true;
        else if (c === '"') s.inString = false;
        continue;
      }
      if (/\s/.test(c)) continue;
      piece += c;
      if (c === '"') s.inString = true;
      else if (c === '{' || c === '[') s.depth++;
      else if (c === '}' || c === ']') {
        if (--s.depth === 0) {
          this.at++;
          this.args = undefined;
          break;
        }
      }
    }
    return piece;
  }
}
