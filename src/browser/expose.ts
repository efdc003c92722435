/** Serves a RuntimeHost over Comlink; logits buffers move to the client instead of being copied. */
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../contract/wire';
import type { RuntimeHost } from '../runtime/host';

export function exposeHost(host: RuntimeHost, endpoint: Comlink.Endpoint): void {
  installErrorTransfer();
  const logits = async (ids: number[]) => {
    const values = await host.logits(ids);
    return Comlink.transfer(values, [values.buffer]);
  };
  const served = new Proxy(host, {
    get: (target, key, receiver) => (key === 'logits' ? logits : Reflect.get(target, key, receiver)),
  });
  Comlink.expose(served, endpoint);
}
