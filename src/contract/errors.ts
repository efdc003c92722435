/**
 * Typed errors shared by every layer. `details` carries the file, tensor or field at fault.
 * Class names do not survive minification, so each class gets its name and code from `identities` below:
 * neither `name` nor the worker's serialisation (by `code`, see wire.ts) ever reads `constructor.name`.
 */
export class InferError extends Error {
  /** stable identifier of the class, e.g. 'MODEL_FORMAT' */
  readonly code: string;

  constructor(message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
    const { name, code } = identityOf(new.target);
    this.name = name;
    this.code = code;
  }
}
export class WebGPUUnavailableError extends InferError {}
export class DeviceLostError extends InferError {}
export class ModelFormatError extends InferError {}
export class UnsupportedModelError extends InferError {}
export class ContextLengthError extends InferError {}
export class InvalidRequestError extends InferError {}
export class ResourceLimitError extends InferError {}
export class AbortError extends InferError {}
/** A model file could not be fetched: access denied, a server error, a stall, a cut-off body or a redirect loop */
export class NetworkError extends InferError {}
/** NaN or infinity in the logits while generating (non-finite weights are refused at load as ModelFormatError) */
export class NonFiniteError extends InferError {}

type ErrorClass = typeof InferError;
interface Identity {
  name: string;
  code: string;
}

/** Every error class of the library with its stable name and code. */
const identities = new Map<ErrorClass, Identity>([
  [InferError, { name: 'InferError', code: 'INFER_ERROR' }],
  [WebGPUUnavailableError, { name: 'WebGPUUnavailableError', code: 'WEBGPU_UNAVAILABLE' }],
  [DeviceLostError, { name: 'DeviceLostError', code: 'DEVICE_LOST' }],
  [ModelFormatError, { name: 'ModelFormatError', code: 'MODEL_FORMAT' }],
  [UnsupportedModelError, { name: 'UnsupportedModelError', code: 'UNSUPPORTED_MODEL' }],
  [ContextLengthError, { name: 'ContextLengthError', code: 'CONTEXT_LENGTH' }],
  [InvalidRequestError, { name: 'InvalidRequestError', code: 'INVALID_REQUEST' }],
  [ResourceLimitError, { name: 'ResourceLimitError', code: 'RESOURCE_LIMIT' }],
  [AbortError, { name: 'AbortError', code: 'ABORTED' }],
  [NonFiniteError, { name: 'NonFiniteError', code: 'NON_FINITE' }],
  [NetworkError, { name: 'NetworkError', code: 'NETWORK' }],
]);
const byCode = new Map([...identities].map(([cls, { code }]) => [code, cls]));

/** A subclass made outside the library takes the identity of the nearest library class it extends. */
function identityOf(cls: ErrorClass): Identity {
  for (let c: unknown = cls; c; c = Object.getPrototypeOf(c)) {
    const identity = identities.get(c as ErrorClass);
    if (identity) return identity;
  }
  return identities.get(InferError)!;
}

/** The library's error class for a code, if it is one (the wire format rebuilds errors with it). */
export function errorClassOf(code: string | undefined): ErrorClass | undefined {
  return code === undefined ? undefined : byCode.get(code);
}

