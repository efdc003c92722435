import { Template } from '@huggingface/jinja';
import { InvalidRequestError, ModelFormatError } from '../contract/errors';
import type { Tokenizer } from './tokenizer';

export interface ChatMessage {
  role: string;
  content: string;
}

/** For models without a chat template (small base models): "role: content" lines, then "assistant:". */
export const FALLBACK_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/**
 * The prompt text for `messages` by the model's chat template (tokenizer_config.json `chat_template`),
 * or FALLBACK_CHAT_TEMPLATE. Encode the result with `addBos: false`: templates write bos_token themselves.
 */
export function renderChat(tokenizer: Tokenizer, messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
  const source = tokenizer.chatTemplate ?? FALLBACK_CHAT_TEMPLATE;
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new ModelFormatError(`tokenizer_config.json: field "chat_template" does not parse (${(e as Error).message})`, { file: 'tokenizer_config.json', field: 'chat_template' });
  }
  try {
    return template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
    });
  } catch (e) {
    // includes the template's own raise_exception("...") checks (e.g. roles must alternate)
    throw new InvalidRequestError(`the chat template failed on these messages (${(e as Error).message})`);
  }
}
