// Start-up of the CLI: `signalprop --version` and `signalprop predict --depth 8 --json` run from the sources
// through tsx (a checkout: how the bin ran before the package was compiled) against the compiled package
// (dist/, what `npm install signalprop` gives), interleaved in one run. Medians of --reps runs, as ratios.
//
//   npx tsx bench/startup.ts [--reps 15]
//
// The compiled copy is made by packing: `npm pack` (prepack builds dist/), unpacked beside this checkout's
// node_modules, so both runs load the same dependencies.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const i = process.argv.indexOf('--reps');
const reps = i > 0 ? Number(process.argv[i + 1]) : 15;

const dir = mkdtempSync(join(tmpdir(), 'signalprop-startup-'));
try {
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  const pkg = join(dir, 'package');
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));

  const bins = { sources: join(repo, 'bin', 'signalprop.js'), compiled: join(pkg, 'bin', 'signalprop.js') };
  const jobs = { '--version': ['--version'], 'predict --depth 8 --json': ['predict', '--depth', '8', '--json'] };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`CLI start-up, medians of ${reps} runs (load ${loadavg()[0].toFixed(2)}); ${process.version}`);
  console.log('| command | sources via tsx (ms) | compiled dist/ (ms) | compiled / sources |');
  console.log('|---|---|---|---|');
  for (const [name, args] of Object.entries(jobs)) {
    const t: Record<keyof typeof bins, number[]> = { sources: [], compiled: [] };
    for (let r = 0; r < reps; r++)
      for (const k of Object.keys(bins) as (keyof typeof bins)[]) {
        const t0 = performance.now();
        const p = spawnSync(process.execPath, [bins[k], ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
        if (p.status !== 0) throw new Error(`${k} ${name}: exit ${p.status}: ${p.stderr}`);
        t[k].push(performance.now() - t0);
      }
    const s = median(t.sources);
    const c = median(t.compiled);
    console.log(`| \`signalprop ${name}\` | ${s.toFixed(0)} | ${c.toFixed(0)} | ${(c / s).toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
