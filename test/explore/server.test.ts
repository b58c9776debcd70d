// The explorer's bundle and server: the page bundles for the browser with no Node built-in in it (an entry that
// imports one fails, naming it), the bundle is cached and rebuilt when an input changes, the server answers
// only GET/HEAD on 127.0.0.1 with the page, its script and records under its root (as loadRecords reads them),
// and `explore --out` writes a static site.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadRecords } from '../../src/compare/index.js';
import { BundleError, bundlePage, type ExplorerServer, pageEntry, startExplorer } from '../../src/explore/index.js';
import { parseRecordsText, recordsToJsonl } from '../../src/explore/page/records.js';
import { makeSpec, specFields } from '../../src/network/index.js';
import { record } from '../../src/records/index.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let server: ExplorerServer;
const f = specFields(makeSpec({ depth: 3, width: 8, batch: 4 }));
const RECS = [record(f, 'sampled', 'growth', null, 1.4, { seed: 1 }), record(f, 'sampled', 'growth', null, Number.NaN, { seed: 2 })];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sp-explore-srv-'));
  mkdirSync(join(dir, 'root', 'run'), { recursive: true });
  writeFileSync(join(dir, 'root', 'a.jsonl'), recordsToJsonl(RECS));
  writeFileSync(join(dir, 'root', 'run', 'records.jsonl'), recordsToJsonl(RECS.slice(0, 1)));
  writeFileSync(join(dir, 'root', 'bad.jsonl'), '{"source": "x"}\n');
  writeFileSync(join(dir, 'outside.jsonl'), recordsToJsonl(RECS));
  server = await startExplorer({ root: join(dir, 'root') });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the page bundle', () => {
  test('the entry is found beside the module; the page bundles with no Node built-in, and is cached', async () => {
    expect(pageEntry()).toBe(fileURLToPath(new URL('../../src/explore/page/main.ts', import.meta.url)));
    const b = await bundlePage();
    expect(b.js.length).toBeGreaterThan(100_000);
    expect(b.inputs.some((p) => p.endsWith('src/theory/index.ts'))).toBe(true);
    expect(b.inputs.some((p) => /node_modules\/vega\//.test(p))).toBe(true);
    expect(b.js).not.toMatch(/require\(["'](node:)?(fs|path|os|child_process|worker_threads)["']\)/);
    const again = await bundlePage();
    expect(again.from).toBe('memory');
    expect(again.js).toBe(b.js);
  });

  test('an entry that imports a Node built-in fails, naming it', async () => {
    const entry = join(dir, 'nodey.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nconsole.log(readFileSync);\n");
    await expect(bundlePage({ entry, cacheDir: null })).rejects.toThrow(BundleError);
    await expect(bundlePage({ entry, cacheDir: null })).rejects.toThrow(/node:fs.*Node built-in/);
  });

  test('an unchanged bundle comes from the disk cache; a changed input is rebuilt', async () => {
    const entry = join(dir, 'small.ts');
    const cacheDir = join(dir, 'cache');
    writeFileSync(entry, 'console.log("one");\n');
    const a = await bundlePage({ entry, cacheDir, minify: false });
    expect(a.from).toBe('build');
    const disk = await bundlePage({ entry, cacheDir, minify: false, memory: false });
    expect(disk.from).toBe('disk');
    expect(disk.js).toBe(a.js);
    writeFileSync(entry, 'console.log("two, longer");\n');
    utimesSync(entry, new Date(), new Date(Date.now() + 5000));
    for (const memory of [true, false]) {
      const b = await bundlePage({ entry, cacheDir, minify: false, memory });
      expect(b.from).toBe(memory ? 'build' : 'disk');
      expect(b.js).toContain('two, longer');
    }
  });
});

const get = (path: string, init: RequestInit = {}) => fetch(new URL(path, server.url), init);

describe('the server', () => {
  test('it listens on 127.0.0.1 and serves the page and its script', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get('/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="explore.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await get('/explore.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBe((await bundlePage()).js.length);
  });

  test('?records= paths: a file or run directory under the root, read as loadRecords reads it', async () => {
    for (const p of ['a.jsonl', 'run']) {
      const r = await get(`/api/records?path=${encodeURIComponent(p)}`);
      expect(r.status).toBe(200);
      expect(parseRecordsText(await r.text(), `${p}.jsonl`).records).toEqual(loadRecords([join(dir, 'root', p)]));
    }
    const outside = await get(`/api/records?path=${encodeURIComponent('../outside.jsonl')}`);
    expect(outside.status).toBe(403);
    expect(await outside.text()).toContain('outside');
    const bad = await get('/api/records?path=bad.jsonl');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('source "x" is not allowed');
    expect((await get('/api/records?path=nope.jsonl')).status).toBe(404);
  });

  test('only GET and HEAD, only to 127.0.0.1 or localhost', async () => {
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    expect((await get('/', { method: 'HEAD' })).status).toBe(200);
    expect((await get('/nothing')).status).toBe(404);
    // a page of another site reaching this port through its own DNS name sends its own Host
    const evil = await new Promise<number>((resolve, reject) => {
      import('node:http').then((http) =>
        http
          .get({ host: '127.0.0.1', port: server.port, path: '/', headers: { host: `evil.example:${server.port}` } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
    });
    expect(evil).toBe(403);
  });

  test('a port in use is refused, naming --port and what to give', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startExplorer({ port })).rejects.toThrow(new RegExp(`--port: ${port} is not allowed; expected a free port`));
    } finally {
      blocker.close();
    }
  });
});

describe('signalprop explore --out', () => {
  test('writes index.html and explore.js, and prints the page’s file URL', () => {
    const out = join(dir, 'site');
    const r = runCli(['explore', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`file://${join(out, 'index.html')}`);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('explore.js');
    expect(readFileSync(join(out, 'explore.js'), 'utf8').length).toBeGreaterThan(100_000);
  });
});
