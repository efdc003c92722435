// Wrong usages the package's types must reject: the consumer test expects exactly these three errors.
import { createEngine } from 'webgpu-infer';

const engine = await createEngine({ modle: '/models/tiny-dense/' }); // misspelt option
await engine.complete({ prompt: 'x', strategy: { kind: 'beam' } }); // no such strategy
const text: number = (await engine.complete({ prompt: 'x' })).text; // text is a string
export { text };
