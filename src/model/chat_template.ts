import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { InvalidRequestError, ModelFormatError } from '../contract/errors';
import type { Tokenizer } from './tokenizer';

/** A message as chat templates read it (OpenAI's fields: tool_calls on assistant turns, tool_call_id on tool results). */
export interface ChatMessage {
  role: string;
  content?: string | null;
  tool_calls?: unknown[];
  tool_call_id?: string;
}

/** For models without a chat template (small base models): "role: content" lines, then "assistant:". */
export const FALLBACK_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/**
 * Time a chat template may take to render: a fixed allowance plus a generous one per message (a real template
 * renders 10k turns in ~0.3 s on a 2-core CPU). Counting steps alone cannot bound it: one loop iteration costs
 * the library ~20 us even with an empty body, which evaluates nothing.
 */
const TEMPLATE_BASE_MS = 1000;
const TEMPLATE_MS_PER_MESSAGE = 0.5;
/** Items one range() may make: an empty-bodied loop over it runs unchecked (~2 s at this size). */
const RANGE_MAX_ITEMS = 100_000;

class TemplateBudgetExceeded extends Error {}

/**
 * The library's interpreter under a time budget, checked at every evaluation step and range() call, so that a
 * template that loops for ever, or 1e9 times, stops with an error instead of freezing its thread.
 */
class BudgetedInterpreter extends Interpreter {
  private readonly deadline: number;

  constructor(readonly budgetMs: number, variables: Record<string, unknown>) {
    const env = new Environment();
    // the library's globals (its setupGlobals is not exported), with range() under the budget
    const globals: Record<string, unknown> = {
      false: false, true: true, none: null, False: false, True: true, None: null,
      raise_exception: (message: string) => {
        throw new Error(message);
      },
      range: (start: number, stop?: number, step = 1) => this.range(start, stop, step),
      strftime_now: (format: string) => strftime(new Date(), format),
      ...variables,
    };
    for (const [name, value] of Object.entries(globals)) env.set(name, value);
    super(env);
    this.deadline = performance.now() + budgetMs;
  }

  override evaluate(...args: Parameters<Interpreter['evaluate']>): ReturnType<Interpreter['evaluate']> {
    this.check();
    return super.evaluate(...args);
  }

  private check(): void {
    if (performance.now() > this.deadline) throw new TemplateBudgetExceeded();
  }

  private range(start: number, stop: number | undefined, step: number): number[] {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    this.check();
    if ((stop - start) / step > RANGE_MAX_ITEMS) throw new TemplateBudgetExceeded();
    const out: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  }
}

/** strftime for the tokens chat templates use (%Y %m %d %b %B %H %M %%), in local time like the library's. */
function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat(undefined, { month: style }).format(date);
  const tokens: Record<string, () => string> = {
    '%Y': () => String(date.getFullYear()), '%m': () => pad(date.getMonth() + 1), '%d': () => pad(date.getDate()),
    '%b': () => month('short'), '%B': () => month('long'), '%H': () => pad(date.getHours()), '%M': () => pad(date.getMinutes()), '%%': () => '%',
  };
  return format.replace(/%[YmdbBHM%]/g, (token) => tokens[token]());
}

/**
 * The prompt text for `messages` by the model's chat template (chat_template.jinja or tokenizer_config.json
 * `chat_template`), or FALLBACK_CHAT_TEMPLATE. Templates write bos_token themselves; Tokenizer.encode does not add a second.
 * Rendering runs under a time budget: a template that exceeds it is a ModelFormatError, and the engine stays usable.
 */
export function renderChat(tokenizer: Tokenizer, messages: ChatMessage[], options: { addGenerationPrompt?: boolean; tools?: unknown[] } = {}): string {
  const { text, file } = tokenizer.chatTemplate ?? { text: FALLBACK_CHAT_TEMPLATE, file: 'the fallback template' };
  let template: Template;
  try {
    template = new Template(text);
  } catch (e) {
    throw new ModelFormatError(`${file}: the chat template does not parse (${(e as Error).message})`, { file, field: 'chat_template' });
  }
  const budgetMs = TEMPLATE_BASE_MS + TEMPLATE_MS_PER_MESSAGE * messages.length;
  try {
    const interpreter = new BudgetedInterpreter(budgetMs, {
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
      // templates test `if tools`: absent unless given
      ...(options.tools ? { tools: options.tools } : {}),
    });
    return interpreter.run(template.parsed).value as string;
  } catch (e) {
    if (e instanceof TemplateBudgetExceeded) {
      throw new ModelFormatError(`${file}: the chat template ran past its ${budgetMs} ms budget for ${messages.length} messages, or asked range() for over ${RANGE_MAX_ITEMS} items (a loop that never ends?)`, { file, field: 'chat_template', budgetMs });
    }
    // includes the template's own raise_exception("...") checks (e.g. roles must alternate)
    throw new InvalidRequestError(`the chat template failed on these messages (${(e as Error).message})`);
  }
}
