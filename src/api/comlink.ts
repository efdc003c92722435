/** A Transport to a RuntimeHost exposed with Comlink on the other end of a Worker or MessagePort. */
import * as Comlink from 'comlink';
import type { HostApi, Transport } from './engine';
import { installErrorTransfer } from './wire';

export function comlinkTransport(endpoint: Comlink.Endpoint, close: () => void): Transport {
  installErrorTransfer();
  const remote = Comlink.wrap<HostApi>(endpoint);
  return {
    host: remote as unknown as HostApi,
    move: (port) => Comlink.transfer(port, [port]),
    callback: (f) => Comlink.proxy(f),
    close: () => {
      remote[Comlink.releaseProxy]();
      close();
    },
  };
}
