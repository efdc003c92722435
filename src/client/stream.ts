/** The client end of a request's MessagePort, read as an async sequence of events. */
import { fromWireError, type ClientMessage, type HostMessage } from '../contract/wire';
import type { GenerateEvent } from '../contract/types';

export class PortStream {
  private buffered: GenerateEvent[] = [];
  private error: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly port: MessagePort) {
    port.onmessage = (m: MessageEvent<HostMessage>) => this.receive(m.data);
  }

  /** Asks the host to stop between steps; the stream still ends with its 'done' event (aborted). */
  abort(): void {
    if (!this.ended) this.port.postMessage({ abort: true } satisfies ClientMessage);
  }

  get finished(): boolean {
    return this.ended;
  }

  async *events(): AsyncGenerator<GenerateEvent> {
    for (;;) {
      const next = this.buffered.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private receive(message: HostMessage): void {
    if ('error' in message) {
      this.error = fromWireError(message.error);
      this.end();
    } else {
      this.buffered.push(...message.events);
      if (message.events.some((e) => e.type === 'done')) this.end();
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private end(): void {
    this.ended = true;
    this.port.close();
  }
}
