import { NetworkError } from '../contract/errors';
import { policyFetch } from './network';
import { urlSource, type ModelSource, type UrlSourceOptions } from './source';

/** The public Hugging Face hub; `hubBase` overrides it (mirrors, self-hosting). */
export const DEFAULT_HUB_BASE = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

/** Where a hub model lives: `{hubBase}/{repo}/resolve/{revision}/{file}`. */
export interface HubLocation {
  repo: string;
  revision?: string;
  hubBase?: string;
}

/**
 * True for a hub repository id, `owner/name` (letters, digits, '-', '_', '.'; no '..'). Folder paths and URLs are
 * written otherwise: with a scheme, a leading '/' or './', or a trailing '/'.
 */
export function isHubId(model: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(model) && !model.includes('..');
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
      const status = e instanceof NetworkError ? e.details.status : undefined;
      if (status === 401 || status === 403) throw accessDenied(location, status, url);
      throw e;
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
