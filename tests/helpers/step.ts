import type { Gpu } from '../../src/gpu/device';
import { ParamArena, Step } from '../../src/gpu/step';

const arenas = new WeakMap<Gpu, ParamArena>();

/** Record `record` into one step and submit it (Node and browser). */
export async function runStep(gpu: Gpu, record: (step: Step) => void): Promise<void> {
  let arena = arenas.get(gpu);
  if (!arena) arenas.set(gpu, (arena = new ParamArena(gpu)));
  const step = new Step(gpu, arena);
  record(step);
  await step.submit();
}
