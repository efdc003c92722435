/**
 * Command line: a Hugging Face folder (config.json, model.safetensors or its shards, tokenizer.json if any) to one GGUF file.
 *   npx tsx tools/gguf/convert.ts <hf-folder> <out.gguf> [--type Q4_K_M] [--tensor-type attn_q=Q8_0 ...] [--for-llama-cpp]
 * --type is one of GGUF_SCHEMES (default F16); --tensor-type gives matrices whose GGUF names contain the part another
 * ggml type (ConvertOptions.tensorTypes); --for-llama-cpp writes the variants of archs.ts's ArchOptions.
 */
import { pathToFileURL } from 'node:url';
import { convertToGguf, GGUF_SCHEMES, type ConvertOptions, type GgufScheme } from './hf_to_gguf';

const USAGE = `usage: npx tsx tools/gguf/convert.ts <hf-folder> <out.gguf> [--type ${GGUF_SCHEMES.join('|')}] [--tensor-type <name part>=<ggml type> ...] [--for-llama-cpp]`;

/** The folder, output path, scheme and options of `args`; throws with the usage on anything else. */
export function parseArgs(args: string[]): { dir: string; out: string; scheme: GgufScheme; options: ConvertOptions } {
  const positional: string[] = [];
  let scheme: GgufScheme = 'F16';
  const options: ConvertOptions = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--type') {
      const type = args[++i]?.toUpperCase();
      if (!GGUF_SCHEMES.includes(type as GgufScheme)) throw new Error(`unknown --type ${args[i]}\n${USAGE}`);
      scheme = type as GgufScheme;
    } else if (args[i] === '--tensor-type') {
      const [part, type] = (args[++i] ?? '').split('=');
      if (!part || !GGUF_SCHEMES.includes(type?.toUpperCase() as GgufScheme) || type.toUpperCase() === 'Q4_K_M') throw new Error(`bad --tensor-type ${args[i]}\n${USAGE}`);
      options.tensorTypes = { ...options.tensorTypes, [part]: type.toUpperCase() };
    } else if (args[i] === '--for-llama-cpp') options.forLlamaCpp = true;
    else if (args[i].startsWith('--')) throw new Error(`unknown option ${args[i]}\n${USAGE}`);
    else positional.push(args[i]);
  }
  if (positional.length !== 2) throw new Error(USAGE);
  return { dir: positional[0], out: positional[1], scheme, options };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { dir, out, scheme, options } = parseArgs(process.argv.slice(2));
    convertToGguf(dir, out, scheme, options);
    console.log(`${dir} -> ${out} (${scheme})`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  }
}
