/** What crosses a thread boundary: typed errors as plain data, and the stream port's messages. */
import * as Comlink from 'comlink';
import { errorClassOf, InferError } from './errors';
import type { EngineOptions, GenerateEvent, GenerateRequest } from './types';

export interface WireError {
  /** the library's error class (InferError.code); absent for other errors */
  code?: string;
  name: string;
  message: string;
  details: Record<string, unknown>;
  stack?: string;
}

/** A generate request without its AbortSignal (signals cannot be cloned; aborts travel on the port). */
export type WireRequest = Omit<GenerateRequest, 'signal'>;

/** Engine options as they travel to the host: callbacks and signals stay with the client. */
export type LoadRequest = Omit<EngineOptions, 'onProgress' | 'signal' | 'worker'>;

/** host -> client on a request's port: event batches, then either a batch ending in 'done' or one error. */
export type HostMessage = { events: GenerateEvent[] } | { error: WireError };
/** client -> host on a request's port */
export interface ClientMessage {
  abort: true;
}

export function toWireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), details: {} };
  if (!(e instanceof InferError)) return { name: e.name, message: e.message, details: {}, stack: e.stack };
  return { code: e.code, name: e.name, message: e.message, details: cloneable(e.details), stack: e.stack };
}

/** Rebuilds the same class for the library's errors (found by code, never by name); a plain Error otherwise. */
export function fromWireError(w: WireError): Error {
  const ErrorClass = errorClassOf(w.code);
  const error = ErrorClass ? new ErrorClass(w.message, w.details) : Object.assign(new Error(w.message), { name: w.name });
  if (w.stack) error.stack = w.stack;
  return error;
}

/** details may hold anything; keep only what survives structured cloning as JSON-like data. */
function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  } catch {
    return { unserializable: String(details) };
  }
}

let installed = false;

/** Makes Comlink rethrow the library's typed errors as the same classes, with their details (both sides call this). */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const builtin = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: builtin.canHandle,
    serialize: (thrown) => [toWireError((thrown as { value: unknown }).value), []],
    deserialize: (wire) => {
      throw fromWireError(wire as WireError);
    },
  });
}
