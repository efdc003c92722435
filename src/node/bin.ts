/** The `webgpu-infer` command (package.json "bin"). */
import { main } from './cli';

process.exitCode = await main(process.argv.slice(2));
