/**
 * The network policy for model files, one place for the browser and Node: status codes reported as they are,
 * retries with backoff for 5xx answers and failed connections, a stall timeout on the answer and on every body
 * read, and a typed NetworkError naming the URL. 404/410 pass through: the caller names the missing file.
 */
import { NetworkError } from '../contract/errors';

export interface NetworkPolicy {
  /** no answer, or no body bytes, for this long fails the request (ms) */
  stallTimeoutMs: number;
  /** extra tries for an answer 5xx or a failed connection (a redirect loop fails at once) */
  retries: number;
  /** first retry's delay; each next one doubles it (ms) */
  retryDelayMs: number;
}

export const DEFAULT_NETWORK_POLICY: NetworkPolicy = { stallTimeoutMs: 30_000, retries: 2, retryDelayMs: 500 };

/** The default policy with the caller's stall timeout, if any (EngineOptions.stallTimeoutMs). */
export function networkPolicy(stallTimeoutMs?: number): NetworkPolicy {
  return { ...DEFAULT_NETWORK_POLICY, stallTimeoutMs: stallTimeoutMs ?? DEFAULT_NETWORK_POLICY.stallTimeoutMs };
}

const sleep = (ms: number, signal?: AbortSignal | null) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(timer);
    resolve();
  }, { once: true });
});

function statusError(url: string, status: number): NetworkError {
  const what = status === 401 || status === 403 ? 'access denied' : status >= 500 ? 'server error' : 'unexpected answer';
  return new NetworkError(`${url}: ${what} (HTTP ${status})`, { url, status });
}

/** The root cause of a failed fetch, as the platform words it (Node puts it in `cause`). */
function reason(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  return cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
}

/** A fetch under the policy: its answers are ok, 404/410, or a thrown NetworkError; their bodies are stall-guarded. */
export function policyFetch(doFetch: typeof fetch, policy: NetworkPolicy = DEFAULT_NETWORK_POLICY): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const callerSignal = init?.signal ?? undefined;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= policy.retries;
      const stalled = new AbortController();
      const timer = setTimeout(() => stalled.abort(), policy.stallTimeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, stalled.signal]) : stalled.signal;
      let response: Response;
      try {
        response = await doFetch(input, { ...init, signal });
      } catch (e) {
        if (callerSignal?.aborted) throw e; // the caller's abort is reported by the caller
        const why = stalled.signal.aborted ? `no answer for ${policy.stallTimeoutMs / 1000} s` : reason(e);
        if (last || /redirect/i.test(why)) throw new NetworkError(`${url}: could not be fetched (${why})`, { url, reason: why });
        await sleep(policy.retryDelayMs * 2 ** attempt, callerSignal);
        continue;
      } finally {
        clearTimeout(timer);
      }
      if (response.ok || response.status === 404 || response.status === 410) return guarded(response, url, policy, callerSignal);
      if (response.status < 500 || last) {
        await response.body?.cancel().catch(() => undefined);
        throw statusError(url, response.status);
      }
      await response.body?.cancel().catch(() => undefined);
      await sleep(policy.retryDelayMs * 2 ** attempt, callerSignal);
    }
  };
}

/** The same answer with a body whose reads fail as NetworkError on a stall or a cut-off connection. */
function guarded(response: Response, url: string, policy: NetworkPolicy, callerSignal?: AbortSignal): Response {
  if (!response.body) return response;
  const reader = response.body.getReader();
  let received = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stall = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NetworkError(`${url}: the download stalled (no data for ${policy.stallTimeoutMs / 1000} s after ${received} bytes)`, { url, reason: 'stalled', receivedBytes: received })), policy.stallTimeoutMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stall]);
        if (done) return controller.close();
        received += value.byteLength;
        controller.enqueue(value);
      } catch (e) {
        void reader.cancel().catch(() => undefined);
        if (e instanceof NetworkError || callerSignal?.aborted) throw e;
        throw new NetworkError(`${url}: the connection was cut off after ${received} bytes (${reason(e)})`, { url, reason: 'cut off', receivedBytes: received });
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (why) => reader.cancel(why),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
