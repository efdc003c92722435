import type { ConfigFields } from '../config_fields';
import type { ModelConfig } from '../config';
import type { Family } from '../family';
import { gemma2, gemma3 } from './gemma';
import { llama } from './llama';
import { mixtral } from './mixtral';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { qwen2Moe } from './qwen2_moe';
import { qwen3, qwen3Moe } from './qwen3';
import { smollm3 } from './smollm3';

/** Every family the runtime implements. Adding one: a file here, its entry below, its fixture and tests. */
export const FAMILIES: readonly Family[] = [llama, qwen2, mixtral, qwen2Moe, qwen3, qwen3Moe, smollm3, gemma2, gemma3, phi3];

/** What each refused architecture needs that the runtime lacks (UnsupportedModelError names it). */
const MISSING: Record<string, string> = {
  OlmoeForCausalLM: 'q_norm/k_norm over the whole projection (not per head) and OLMoE routing',
  Gemma3ForConditionalGeneration: 'its vision tower and projector (text-only Gemma3ForCausalLM checkpoints load)',
  GemmaForCausalLM: 'Gemma 1 layers (pre-norms only with (1 + w) weights, GeGLU)',
  GPT2LMHeadModel: 'learned position embeddings, LayerNorm with biases and a fused c_attn projection',
};

/** The family of an HF class name, or an UnsupportedModelError naming what is missing. */
export function familyFor(f: ConfigFields, hfArchitecture: string): Family {
  const family = FAMILIES.find((x) => x.classes.includes(hfArchitecture));
  if (family) return family;
  const supported = FAMILIES.flatMap((x) => x.classes).join(', ');
  const missing = MISSING[hfArchitecture];
  throw f.unsupported('architectures', missing
    ? `${hfArchitecture} needs ${missing}, which this runtime does not implement (supported: ${supported})`
    : `architecture ${hfArchitecture} is not supported (supported: ${supported})`);
}

/** The family a parsed config came from. */
export function familyOf(config: ModelConfig): Family {
  return FAMILIES.find((x) => x.id === config.architecture)!;
}
