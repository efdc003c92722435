/** Turns the runtime's typed errors into messages a visitor can act on, shown in the page banner. */
import { AbortError, DeviceLostError, ModelFormatError, NetworkError, ResourceLimitError, UnsupportedModelError, WebGPUUnavailableError } from '../src/browser/index';
import { byId, fill, h } from './dom';

export type Problem = 'webgpu' | 'device-lost' | 'aborted' | 'model' | 'error';

export interface Explained {
  problem: Problem;
  message: string;
}

/** Typed errors keep their class across the worker boundary (also in a minified build), so instanceof identifies them. */
export function explain(e: unknown): Explained {
  const error = e instanceof Error ? e : new Error(String(e));
  if (error instanceof WebGPUUnavailableError) return { problem: 'webgpu', message: `WebGPU is not available: ${error.message}` };
  if (error instanceof DeviceLostError) return { problem: 'device-lost', message: `The GPU device was lost (${error.message}). Reload the model to continue.` };
  // the platform's own aborts are DOMExceptions named AbortError
  if (error instanceof AbortError || error.name === 'AbortError') return { problem: 'aborted', message: 'Cancelled.' };
  if (error instanceof NetworkError) return { problem: 'model', message: `The model files could not be downloaded: ${error.message}` };
  if (error instanceof ModelFormatError || error instanceof UnsupportedModelError || error instanceof ResourceLimitError) {
    return { problem: 'model', message: `This model cannot be loaded here: ${error.message}` };
  }
  return { problem: 'error', message: error.message || error.name };
}

/** Why the page cannot use WebGPU at all, or undefined when `navigator.gpu` is present. */
export function webgpuMissingReason(): string | undefined {
  if (!window.isSecureContext) return 'WebGPU needs a secure context: open the demo over https or from localhost.';
  if (!('gpu' in navigator)) {
    return 'This browser does not expose WebGPU (navigator.gpu). Use a recent Chrome, Edge or Safari, or enable WebGPU in the browser flags.';
  }
  return undefined;
}

export interface BannerAction {
  label: string;
  run: () => void;
}

export function showBanner(problem: Problem, message: string, action?: BannerAction): void {
  const banner = byId('banner');
  banner.dataset.problem = problem;
  const button = action ? h('button', { testid: 'banner-action' }, action.label) : null;
  button?.addEventListener('click', () => {
    hideBanner();
    action!.run();
  });
  const close = h('button', { class: 'quiet', 'aria-label': 'Dismiss', testid: 'banner-close' }, '×');
  close.addEventListener('click', hideBanner);
  fill(banner, h('span', { testid: 'banner-message' }, message), button, close);
  banner.hidden = false;
}

/** A later success makes an earlier error's banner stale. */
export function hideBanner(): void {
  byId('banner').hidden = true;
}
