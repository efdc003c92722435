/** Typed errors shared by every layer. `details` carries the file, tensor or field at fault. */
export class InferError extends Error {
  constructor(message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
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

export const errorClasses = {
  InferError, WebGPUUnavailableError, DeviceLostError, ModelFormatError, UnsupportedModelError,
  ContextLengthError, InvalidRequestError, ResourceLimitError, AbortError,
} as const;
export type ErrorName = keyof typeof errorClasses;
