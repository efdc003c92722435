// The bundled kit's entry: bench/device.ts's main with this process's arguments.
import { main } from '../../bench/device';

process.exit(await main(process.argv.slice(2)));
