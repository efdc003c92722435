import { parseArgs } from 'node:util';
import { createEngine } from './index';
import type { GenerateResult, LoadProgress, Strategy } from '../contract/types';
import { InferError } from '../contract/errors';

const USAGE = `usage: webgpu-infer generate --model DIR|URL|OWNER/NAME --prompt TEXT [options]

options:
  --revision REV --hub-base URL                             hub ids: branch/tag/commit, hub or mirror
  --strategy greedy|sample|self-speculative|superposed   (default greedy)
  --max-tokens N        tokens to generate (default 64)
  --temperature T --top-k K --top-p P --seed S             sampling
  --exit-layer N|auto --draft-length N|auto                 self-speculative
  --draft-source auto|exit|adapter                          self-speculative drafts: plain exits or Kangaroo adapters
  --drafts K --ngrams FILE                                  superposed (FILE: an n-gram table in the model folder;
                                                            default ngrams.bin there, or ../ngrams-bpe<vocab>.bin)
  --quantize q8|q4      quantize weights on load
  --json                print one JSON result instead of streaming text`;

/** `webgpu-infer generate ...`: stream a generation to stdout. Returns the process exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const [command, ...rest] = argv;
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (command !== 'generate') return usageError(command === undefined ? 'no command given' : `unknown command "${command}"`);
  let o: ReturnType<typeof parseOptions>;
  try {
    o = parseOptions(rest);
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (!o.model || o.prompt === undefined) return usageError('--model and --prompt are required');
  try {
    const engine = await createEngine({
      model: o.model,
      revision: o.revision,
      hubBase: o['hub-base'],
      quantize: o.quantize as 'q8' | 'q4' | undefined,
      ngrams: o.ngrams,
      onProgress: o.json ? undefined : progressBar,
    });
    const request = { prompt: o.prompt, maxTokens: Number(o['max-tokens']), strategy: strategyFrom(o) };
    let result: GenerateResult | undefined;
    if (o.json) {
      result = await engine.complete(request);
      console.log(JSON.stringify({ model: o.model, strategy: request.strategy, info: engine.info, ...result }, null, 2));
    } else {
      process.stdout.write(o.prompt);
      for await (const ev of engine.generate(request)) {
        if (ev.type === 'tokens') process.stdout.write(ev.text);
        else if (ev.type === 'done') result = ev.result;
      }
      const s = result!.stats;
      const { adapter } = engine.info;
      const where = adapter.isSoftware ? `${adapter.description}: a CPU adapter, no GPU was found` : adapter.description;
      if (s.ngrams === 'missing') process.stderr.write('\n\n(no n-gram table was found: the drafts were scored by the model alone; see --help)');
      process.stderr.write(`\n\n[${where}] prefill ${s.prefillTokens} tok in ${s.prefillMs.toFixed(0)} ms, ` +
        `decode ${s.decodeTokens} tok at ${(s.decodeTokens / (s.decodeMs / 1000)).toFixed(1)} tok/s, ${s.forwardPasses} forward passes` +
        (s.drafted ? `, accepted ${s.accepted}/${s.drafted} drafts` : '') + '\n');
    }
    await engine.dispose();
    return 0;
  } catch (e) {
    console.error(e instanceof InferError ? `${e.name}: ${e.message}` : e);
    return 1;
  }
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      model: { type: 'string' }, prompt: { type: 'string' }, strategy: { type: 'string', default: 'greedy' },
      'max-tokens': { type: 'string', default: '64' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
      'top-p': { type: 'string' }, seed: { type: 'string' }, 'exit-layer': { type: 'string' }, 'draft-length': { type: 'string' },
      'draft-source': { type: 'string' }, drafts: { type: 'string' }, ngrams: { type: 'string' }, quantize: { type: 'string' }, json: { type: 'boolean', default: false },
      revision: { type: 'string' }, 'hub-base': { type: 'string' },
    },
  }).values;
}

function usageError(why: string): number {
  console.error(`webgpu-infer: ${why}\n\n${USAGE}`);
  return 2;
}

function strategyFrom(o: Record<string, string | boolean | undefined>): Strategy {
  const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
  const layerOrAuto = (k: string) => (o[k] === undefined || o[k] === 'auto' ? 'auto' : Number(o[k]));
  switch (o.strategy) {
    case 'sample':
      return { kind: 'sample', temperature: num('temperature'), topK: num('top-k'), topP: num('top-p'), seed: num('seed') };
    case 'self-speculative':
      return { kind: 'self-speculative', exitLayer: layerOrAuto('exit-layer'), draftLength: layerOrAuto('draft-length'), draftSource: o['draft-source'] as 'auto' | undefined };
    case 'superposed':
      return { kind: 'superposed', drafts: num('drafts') };
    default:
      return { kind: o.strategy as 'greedy' };
  }
}

function progressBar(p: LoadProgress): void {
  if (!process.stderr.isTTY && p.phase !== 'ready') return;
  if (p.phase === 'weights' && p.totalBytes > 0) {
    const width = 30;
    const filled = Math.round((width * p.loadedBytes) / p.totalBytes);
    process.stderr.write(`\rloading [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.loadedBytes / 1e6).toFixed(1)}/${(p.totalBytes / 1e6).toFixed(1)} MB`);
  } else if (p.phase === 'ready') {
    process.stderr.write(`\rloaded ${(p.totalBytes / 1e6).toFixed(1)} MB${' '.repeat(30)}\n`);
  }
}
