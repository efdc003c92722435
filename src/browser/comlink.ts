/** A Transport to a RuntimeHost exposed with Comlink on the other end of a Worker or MessagePort. */
import * as Comlink from 'comlink';
import type { HostApi, Transport } from '../client/engine';
import { installErrorTransfer } from '../contract/wire';

/**
 * `failure` rejects when the other side dies (a Worker that fails to start or throws outside a call):
 * every pending and later call then rejects with it instead of waiting forever.
 */
export function comlinkTransport(endpoint: Comlink.Endpoint, close: () => void, failure: Promise<never> = new Promise(() => {})): Transport {
  installErrorTransfer();
  failure.catch(() => undefined);
  const remote = Comlink.wrap<HostApi>(endpoint);
  const host = new Proxy({} as HostApi, {
    get: (_, method) => (...args: unknown[]) => {
      const call = (remote as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[method](...args);
      return Promise.race([call, failure]);
    },
  });
  return {
    host,
    move: (port) => Comlink.transfer(port, [port]),
    // whatever a caller's callback returns (a DOM node, say) stays here: only the call crosses
    callback: (f) => Comlink.proxy(((...args) => void f(...args)) as typeof f),
    close: () => {
      remote[Comlink.releaseProxy]();
      close();
    },
  };
}
