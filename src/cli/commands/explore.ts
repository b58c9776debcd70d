// signalprop explore: the interactive explorer. Served on 127.0.0.1 (the URL on stdout, until Ctrl-C), or
// written with --out as a static site that opens from the file system. The page computes the theory itself.
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';

function checkRoot(raw: string | undefined): string {
  const root = resolve(raw ?? '.');
  let ok = false;
  try {
    ok = statSync(root).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok)
    throw new UsageError(`--root: "${raw}" is not allowed; expected an existing directory (the folder ?records= paths are read from)`);
  return root;
}

function checkRecordsPath(root: string, raw: string): string {
  const abs = resolve(root, raw);
  const rel = relative(root, abs);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new UsageError(`--records: "${raw}" is not allowed; expected a records file or run directory under --root (${root})`);
  try {
    statSync(abs);
  } catch {
    throw new UsageError(`--records: "${raw}" is not allowed; expected an existing records file (.jsonl, .json) or run directory`);
  }
  return rel === '' ? '.' : rel;
}

export function register(program: Command): void {
  program
    .command('explore')
    .description(
      'An interactive page where the theory runs live in the browser: λ(B), gradient norms against depth, the phase diagram, the Jacobian spectrum, with your records overlaid. Served on 127.0.0.1 (URL printed), or --out writes a static site',
    )
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)')
    .option('--out <dir>', 'write a static site (index.html, explore.js) here instead of serving; it opens from the file system')
    .option('--root <dir>', 'the folder the served page reads ?records= paths from (default: the working directory)')
    .option('--records <paths...>', 'records files or run directories (under --root) to overlay: added to the printed URL as ?records=')
    .action(async (opts: Record<string, any>) => {
      const port = numberFlag('--port', opts.port, { int: true, min: 0, max: 65535 });
      if (opts.out !== undefined) {
        for (const [flag, v] of [
          ['--port', opts.port],
          ['--root', opts.root],
          ['--records', opts.records],
        ] as const)
          if (v !== undefined)
            throw new UsageError(
              `${flag}: ${JSON.stringify(v)} only applies to the served page; a static site (--out) reads records by drag and drop`,
            );
        checkOutPath('--out', opts.out, 'dir');
      }
      const root = opts.out === undefined ? checkRoot(opts.root) : '';
      const records: string[] = opts.out === undefined ? (opts.records ?? []).map((r: string) => checkRecordsPath(root, r)) : [];
      const { BundleError, startExplorer, writeExplorerSite } = await import('../../explore/index.js');
      // a page that does not bundle is our fault, not the user's: one line, exit 1
      const bundled = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
        try {
          return await f();
        } catch (e) {
          if (!(e instanceof BundleError)) throw e;
          process.stderr.write(`signalprop: explore: ${e.message}\n`);
          process.exitCode = 1;
          return undefined;
        }
      };
      if (opts.out !== undefined) {
        const page = await bundled(() => writeExplorerSite(String(opts.out)));
        if (page === undefined) return;
        progress(`explore: wrote ${page} and explore.js; open it in a browser (no server needed)`);
        process.stdout.write(`${pathToFileURL(resolve(page)).href}\n`);
        return;
      }
      const server = await bundled(() => startExplorer({ port, root }));
      if (server === undefined) return;
      progress(
        `explore: page script ${server.bundleFrom === 'build' ? 'bundled' : `from the ${server.bundleFrom} cache`} in ${server.bundleMs.toFixed(0)} ms`,
      );
      const query = records.map((r) => `records=${encodeURIComponent(r)}`).join('&');
      process.stdout.write(`${server.url}${query ? `?${query}` : ''}\n`);
      progress('explore: serving on 127.0.0.1; Ctrl-C to stop');
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
