/**
 * The network policy for model files, one place for the browser and Node: status codes reported as they are,
 * retries with backoff for 5xx answers, failed connections and bodies that stall or are cut off (resumed with
 * Range where the server offers it), a stall timeout on the answer and on every body read, and a typed
 * NetworkError naming the URL. 404/410 pass through: the caller names the missing file.
 */
import { NetworkError } from '../contract/errors';

export interface NetworkPolicy {
  /** no answer, or no body bytes, for this long fails the request (ms) */
  stallTimeoutMs: number;
  /** extra tries for an answer 5xx, a failed connection, and for each body a stall or a cut (a redirect loop fails at once) */
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

/**
 * A fetch under the policy: its answers are ok, 404/410, or a thrown NetworkError. An ok body is guarded: a stall or
 * a cut-off connection resumes (with Range where the server offers it, else by skipping what already arrived) up
 * to `retries` times, then fails as NetworkError.
 */
export function policyFetch(doFetch: typeof fetch, policy: NetworkPolicy = DEFAULT_NETWORK_POLICY): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const callerSignal = init?.signal ?? undefined;
    const response = await answer(doFetch, input, init, url, policy);
    if (!response.ok || !response.body) return response;
    // Range counts stored bytes: only where they are the bytes fetch hands over (no Content-Encoding)
    const ranged = response.headers.get('accept-ranges') === 'bytes' && !response.headers.has('content-encoding');
    const reopen = async (from: number): Promise<Opened> => {
      const headers = new Headers(init?.headers);
      if (ranged) headers.set('range', `bytes=${from}-`);
      const again = await answer(doFetch, input, { ...init, headers }, url, policy);
      const resumed = again.status === 206 && again.headers.get('content-range')?.startsWith(`bytes ${from}-`);
      if (!again.body || (again.status !== 200 && !resumed)) throw new NetworkError(`${url}: the download could not be resumed (HTTP ${again.status})`, { url, status: again.status });
      return { reader: again.body.getReader(), skip: resumed ? 0 : from };
    };
    return guarded(response, url, policy, callerSignal, reopen);
  };
}

/** The answer to one request: retried with backoff on 5xx and failed connections; 401/403/other errors thrown. */
async function answer(doFetch: typeof fetch, input: RequestInfo | URL, init: RequestInit | undefined, url: string, policy: NetworkPolicy): Promise<Response> {
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
      const why = stalled.signal.aborted ? `no answer for ${policy.stallTimeoutMs / 1000} s` : await redirectedOr(doFetch, input, signal, reason(e));
      if (last || /redirect/i.test(why)) throw new NetworkError(`${url}: could not be fetched (${why})`, { url, reason: why });
      await sleep(policy.retryDelayMs * 2 ** attempt, callerSignal);
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (response.ok || response.status === 404 || response.status === 410) return response;
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 500 || last) throw statusError(url, response.status);
    await sleep(policy.retryDelayMs * 2 ** attempt, callerSignal);
  }
}

/**
 * Why a fetch failed, where the platform does not say: a browser words a redirect loop like a refused connection
 * ("Failed to fetch"). A HEAD request that does not follow redirects tells them apart.
 */
async function redirectedOr(doFetch: typeof fetch, input: RequestInfo | URL, signal: AbortSignal, why: string): Promise<string> {
  if (/redirect/i.test(why)) return why;
  const probe = await doFetch(input, { method: 'HEAD', redirect: 'manual', signal }).catch(() => undefined);
  await probe?.body?.cancel().catch(() => undefined);
  const redirected = probe && (probe.type === 'opaqueredirect' || (probe.status >= 300 && probe.status < 400));
  return redirected ? `${why}: the server redirects, and following it failed (a redirect loop, too many redirects, or a target that refuses cross-origin reads)` : why;
}

/** A body reader, and how many of its first bytes already arrived before (a restart without Range). */
interface Opened {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  skip: number;
}

/** The same answer with a body whose reads resume after a stall or a cut, and fail as NetworkError when they cannot. */
function guarded(response: Response, url: string, policy: NetworkPolicy, callerSignal: AbortSignal | undefined, reopen: (from: number) => Promise<Opened>): Response {
  let opened: Opened = { reader: response.body!.getReader(), skip: 0 };
  let received = 0;
  let resumes = 0;
  /** The next bytes past `received`, or undefined at the end; throws on a stall or a cut. */
  const next = async (): Promise<Uint8Array | undefined> => {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stall = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NetworkError(`${url}: the download stalled (no data for ${policy.stallTimeoutMs / 1000} s after ${received} bytes)`, { url, reason: 'stalled', receivedBytes: received })), policy.stallTimeoutMs);
      });
      try {
        const { done, value } = await Promise.race([opened.reader.read(), stall]);
        if (done) return undefined;
        const dropped = Math.min(opened.skip, value.byteLength);
        opened.skip -= dropped;
        if (dropped < value.byteLength) return value.subarray(dropped);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        try {
          const chunk = await next();
          if (!chunk) return controller.close();
          received += chunk.byteLength;
          return controller.enqueue(chunk);
        } catch (e) {
          void opened.reader.cancel().catch(() => undefined);
          if (callerSignal?.aborted) throw e;
          const failure = e instanceof NetworkError ? e : new NetworkError(`${url}: the connection was cut off after ${received} bytes (${reason(e)})`, { url, reason: 'cut off', receivedBytes: received });
          if (resumes >= policy.retries) throw failure;
          await sleep(policy.retryDelayMs * 2 ** resumes++, callerSignal);
          opened = await reopen(received);
        }
      }
    },
    cancel: (why) => opened.reader.cancel(why),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
