/** The module Worker behind the browser's createEngine(): one RuntimeHost served over Comlink. */
import { browserEnvironment } from './environment';
import { RuntimeHost } from '../runtime/host';
import { exposeHost } from './expose';

exposeHost(new RuntimeHost(browserEnvironment), self as unknown as DedicatedWorkerGlobalScope);
