/**
 * A plain static file server on 127.0.0.1 for loader and consumer tests, with the behaviours of ordinary
 * servers switchable per request by a path prefix `/~flag,flag/`:
 *   nolength  no Content-Length (chunked)           gzip, br  Content-Encoding (whole body compressed)
 *   redirect  302 to the same path without it      ranges    Accept-Ranges and 206 answers to Range
 *   extra     16 bytes past the end of .safetensors files (malformed)
 * Faults, for the network policy's tests:
 *   statusNNN answer HTTP NNN                        flaky     503 to the first request for each path
 *   loop      302 to itself for ever                 html      200 text/html (a login page) for every file
 *   stall     send 64 KiB of the body, then nothing  cut       send half the body, then close the connection
 *   cutonce   cut, for the first request of each path and method only
 *   nan       a NaN in model.layers.0.mlp.down_proj.weight of model.safetensors files
 *   looptemplate  tokenizer_config.json's chat template loops 1e9 times
 * Without `ranges` a Range header is ignored (200, whole file), as many servers do. Cross-origin pages may read
 * everything (CORS *, CORP cross-origin) but, as usual, not the Content-Encoding header.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { NAN, poisoned } from './non_finite';

export const LOOPING_TEMPLATE = '{% for i in range(1000000000) %}x{% endfor %}';

export interface ServedRequest {
  method: string;
  path: string;
  flags: string[];
  range?: string;
}

export interface StaticServer {
  /** http://127.0.0.1:port (no trailing slash) */
  url: string;
  requests: ServedRequest[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain',
};

export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = path.resolve(root);
  const requests: ServedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const match = /^\/~([a-z0-9,]*)(\/.*)$/.exec(url.pathname);
    const flags = match ? match[1].split(',').filter(Boolean) : [];
    const rest = decodeURIComponent(match ? match[2] : url.pathname);
    requests.push({ method: req.method ?? 'GET', path: rest, flags, range: req.headers.range });
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const fault = flags.map((f) => /^status(\d{3})$/.exec(f)?.[1]).find(Boolean);
    const firstTry = !requests.slice(0, -1).some((r) => r.path === rest && r.method === req.method && r.flags.join() === flags.join());
    if (fault || (flags.includes('flaky') && firstTry)) return void res.writeHead(Number(fault ?? 503)).end('unavailable');
    if (flags.includes('loop')) return void res.writeHead(302, { Location: url.pathname }).end();
    if (flags.includes('html')) return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Please log in</body></html>');
    if (flags.includes('redirect')) {
      const left = flags.filter((f) => f !== 'redirect');
      res.writeHead(302, { Location: `${left.length ? `/~${left.join(',')}` : ''}${rest}${url.search}` }).end();
      return;
    }
    let file = path.join(base, path.normalize(rest));
    if (!file.startsWith(base)) return void res.writeHead(403).end();
    if ((await stat(file).catch(() => undefined))?.isDirectory()) file = path.join(file, 'index.html');
    let body = await readFile(file).catch(() => undefined);
    if (!body) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    if (flags.includes('extra') && file.endsWith('.safetensors')) body = Buffer.concat([body, Buffer.alloc(16)]);
    if (flags.includes('nan') && path.basename(file) === 'model.safetensors') body = Buffer.from(poisoned(body, 'model.layers.0.mlp.down_proj.weight', 1000, NAN));
    if (flags.includes('looptemplate') && file.endsWith('tokenizer_config.json')) {
      body = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), chat_template: LOOPING_TEMPLATE }));
    }
    const headers: Record<string, string> = { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' };
    let status = 200;
    if (flags.includes('ranges')) {
      headers['Accept-Ranges'] = 'bytes';
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
        headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
        body = body.subarray(start, end + 1);
        status = 206;
      }
    }
    if (flags.includes('gzip')) body = gzipSync(body, { level: 1 });
    else if (flags.includes('br')) body = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
    if (flags.includes('gzip') || flags.includes('br')) headers['Content-Encoding'] = flags.includes('gzip') ? 'gzip' : 'br';
    if (!flags.includes('nolength')) headers['Content-Length'] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    if (flags.includes('stall')) return void res.write(body.subarray(0, 1 << 16)); // and never end
    if (flags.includes('cut') || (flags.includes('cutonce') && firstTry)) return void res.write(body.subarray(0, body.length >> 1), () => res.destroy());
    // in pieces, so a client without Content-Length really sees a chunked stream
    for (let at = 0; at < body.length; at += 1 << 16) res.write(body.subarray(at, at + (1 << 16)));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
