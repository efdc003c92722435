import { NetworkError } from '../contract/errors';
import { policyFetch } from './network';
import { urlSource, type ModelSource, type UrlSourceOptions } from './source';

export { isHubId } from '../contract/validate';

/** The public Hugging Face hub; `hubBase` overrides it (mirrors, self-hosting). */
export const DEFAULT_HUB_BASE = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** Where a hub model lives: `{hubBase}/{repo}/resolve/{revision}/{file}`. */
export interface HubLocation {
  repo: string;
  revision?: string;
  hubBase?: string;
}

/** The folder URL of a hub revision, ending with '/'. */
export function hubFolderUrl({ repo, revision = DEFAULT_REVISION, hubBase = DEFAULT_HUB_BASE }: HubLocation): string {
  return `${hubBase.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/`;
}

/** The error for a hub's 401/403: a NetworkError (as any refused file) that names the repository. */
function accessDenied(location: HubLocation, status: number, url: string): NetworkError {
  const where = `${location.repo}@${location.revision ?? DEFAULT_REVISION}`;
  return new NetworkError(
    `${where}: the hub refused access (HTTP ${status}); the repository is gated or private, or does not exist. Accept its terms on the hub and load it with credentials, or use a local copy`,
    { repo: location.repo, revision: location.revision ?? DEFAULT_REVISION, status, url },
  );
}

/** `e`, or for a 401/403 NetworkError (thrown under the network policy) the one that names the repository. */
export function hubError(location: HubLocation, e: unknown): unknown {
  if (!(e instanceof NetworkError)) return e;
  const { status, url } = e.details;
  return status === 401 || status === 403 ? accessDenied(location, status, String(url)) : e;
}

/**
 * A fetch for hub files: redirects are followed (the hub sends large files to its storage and renamed repos to
 * their new name), and 401/403 (a gated or private repo, or one that does not exist) become a NetworkError naming
 * the repo, whether `doFetch` answers them or (under the network policy) throws them. A missing optional file is
 * the 404 the loader expects.
 */
export function hubFetch(location: HubLocation, doFetch: typeof fetch): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    let response: Response;
    try {
      response = await doFetch(input, { ...init, redirect: 'follow' });
    } catch (e) {
      throw hubError(location, e);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw accessDenied(location, response.status, url);
    }
    return response;
  };
}

/** A hub model revision as a model source: config, weights (single file or sharded), tokenizer files, chat template, generation config. */
export function hubSource(location: HubLocation, options: UrlSourceOptions = {}): ModelSource {
  const describe = `${location.repo}@${location.revision ?? DEFAULT_REVISION} (${hubFolderUrl(location)})`;
  const doFetch = options.fetch ?? policyFetch((input, init) => globalThis.fetch(input, init), options.network);
  return urlSource(hubFolderUrl(location), { ...options, fetch: hubFetch(location, doFetch), describe });
}
