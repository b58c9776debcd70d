// `signalprop explore`: a small HTTP server on 127.0.0.1 for the explorer page. It serves the page, its script
// (bundled once, cached) and, for `?records=<path>`, the records of a file or run directory under the folder
// it was started in (read by src/compare's loadRecords, sent as JSON lines). Only GET and HEAD, only requests
// addressed to 127.0.0.1 or localhost (a page of another site cannot reach it through a DNS name), and no
// path outside that folder.
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';
import { loadRecords } from '../compare/index.js';
import { InputError } from '../network/index.js';
import { bundlePage } from './bundle.js';
import { pageHtml } from './html.js';
import { recordsToJsonl } from './page/records.js';

export interface ExplorerServer {
  url: string;
  port: number;
  /** Milliseconds the page script took to get (built, or from the cache) before the server listened. */
  bundleMs: number;
  bundleFrom: 'build' | 'memory' | 'disk';
  close(): Promise<void>;
}

export interface ExplorerOptions {
  /** Port on 127.0.0.1; 0 (default): a free one. */
  port?: number;
  /** The folder `?records=` paths are read from (default the working directory). */
  root?: string;
}

/** A server that could not start (the port taken, or not ours to take): names the port and what to do. */
export class ExplorerError extends InputError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'ExplorerError';
  }
}

function send(res: ServerResponse, code: number, type: string, body: string, head: boolean): void {
  res.writeHead(code, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

/** The records under `root` at `path`, or why not (status and one line). */
function recordsAt(root: string, path: string): { code: number; body: string } {
  const abs = resolve(root, path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return { code: 404, body: `${path}: no such file or directory under ${root}` };
  }
  const rel = relative(realpathSync(root), real);
  if (rel.startsWith('..') || isAbsolute(rel))
    return { code: 403, body: `${path}: outside ${root}; the server reads records only below the folder it started in` };
  try {
    return { code: 200, body: recordsToJsonl(loadRecords([abs])) };
  } catch (e) {
    if (e instanceof InputError) return { code: 400, body: e.message };
    throw e;
  }
}

/** Start the explorer's server; the page script is bundled (or taken from the cache) before it listens. */
export async function startExplorer(opts: ExplorerOptions = {}): Promise<ExplorerServer> {
  const port = opts.port ?? 0;
  const root = resolve(opts.root ?? process.cwd());
  const bundle = await bundlePage();
  const html = pageHtml('explore.js');
  let hosts = new Set<string>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', false);
    if (!hosts.has(req.headers.host ?? ''))
      return send(res, 403, 'text/plain; charset=utf-8', 'the explorer answers requests to 127.0.0.1 or localhost only\n', head);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/' || url.pathname === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html, head);
    if (url.pathname === '/explore.js') return send(res, 200, 'text/javascript; charset=utf-8', bundle.js, head);
    if (url.pathname === '/api/records') {
      const path = url.searchParams.get('path');
      if (!path) return send(res, 400, 'text/plain; charset=utf-8', 'api/records: give ?path=<records file or run directory>\n', head);
      const r = recordsAt(root, path);
      return send(
        res,
        r.code,
        r.code === 200 ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
        r.code === 200 ? r.body : `${r.body}\n`,
        head,
      );
    }
    return send(res, 404, 'text/plain; charset=utf-8', `${url.pathname}: not found\n`, head);
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      send(res, 500, 'text/plain; charset=utf-8', `${(e as Error).message}\n`, false);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        fail(new ExplorerError('--port', port, 'a free port on 127.0.0.1 (this one is in use; give another, or 0 for any free one)'));
      else if (e.code === 'EACCES')
        fail(
          new ExplorerError('--port', port, 'a port this user may listen on (ports below 1024 need privileges; give 0 for any free one)'),
        );
      else fail(e);
    });
    server.listen(port, '127.0.0.1', () => ok());
  });
  const bound = (server.address() as { port: number }).port;
  hosts = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    bundleMs: bundle.ms,
    bundleFrom: bundle.from,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
