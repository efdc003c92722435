/**
 * A local HTTP server with the hub's URL layout, for tests (no test touches the network):
 * `/{owner}/{name}/resolve/{revision}/{file}`, weight files redirected (302) to a storage path as the hub sends
 * them to its CDN, renamed repos redirected (307) to their new name, gated repos answering 401, private 403,
 * unknown revisions and missing files 404. CORS is open so a page on another origin can load from it.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HubRepo {
  /** local folder holding the repo's files */
  dir?: string;
  /** answer every file with this status (401 gated, 403 private) */
  status?: 401 | 403;
  /** a renamed repo: every file redirects to the same file of this repo */
  renamedTo?: string;
}

export interface HubServer {
  /** the hub base URL (http://127.0.0.1:PORT) */
  base: string;
  /** paths requested, in order (method and path) */
  requests: string[];
  close(): Promise<void>;
}

/** Revisions every repo has: 'main' and this commit. */
export const HUB_COMMIT = '0123456789abcdef0123456789abcdef01234567';

export async function startHubServer(repos: Record<string, HubRepo>): Promise<HubServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'content-length');
    if (req.method === 'OPTIONS') return end(res, 204);
    const url = new URL(req.url ?? '/', 'http://hub');
    const storage = /^\/storage\/([^/]+\/[^/]+)\/(.+)$/.exec(url.pathname);
    if (storage) return serveFile(req, res, repos[decodeURIComponent(storage[1])]?.dir, decodeURIComponent(storage[2]));
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? repos[m[1]] : undefined;
    if (!m || !repo) return end(res, 404, 'Repository not found');
    const [, id, revision, file] = m;
    if (repo.renamedTo) return redirect(res, 307, `/${repo.renamedTo}/resolve/${revision}/${file}`);
    if (repo.status) return end(res, repo.status, repo.status === 401 ? 'Access to this repository is restricted' : 'Forbidden');
    if (revision !== 'main' && revision !== HUB_COMMIT) return end(res, 404, 'Revision not found');
    if (file.endsWith('.safetensors') && existsSync(join(repo.dir!, file))) return redirect(res, 302, `/storage/${id}/${file}`);
    return serveFile(req, res, repo.dir, decodeURIComponent(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function end(res: ServerResponse, status: number, text = ''): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': 0 });
  res.end();
}

function serveFile(req: IncomingMessage, res: ServerResponse, dir: string | undefined, file: string): void {
  const path = dir && !file.includes('..') ? join(dir, file) : undefined;
  if (!path || !existsSync(path) || !statSync(path).isFile()) return end(res, 404, 'Entry not found');
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(path).size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(path).pipe(res);
}
