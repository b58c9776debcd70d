// `signalprop reproduce` end to end at a tiny scale, as a user runs it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { STUDIES } from '../../analysis/index.js';
import { runCli } from '../helpers/cli.js';

describe('signalprop reproduce', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-repro-'));
  const out = join(dir, 'figures');
  const cache = join(dir, 'cache');

  test('runs every claim at a tiny scale: figures, REPORT.md with every claim, an offline report.html', () => {
    const r = runCli(['reproduce', '--scale', 'tiny', '--threads', '1', '--out', out, '--cache', cache], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(STUDIES.map((s) => s.id)).toEqual(['claim1', 'claim2', 'claim3', 'claim4', 'claim5', 'claim6', 'claim7', 'claim8', 'claim9']);
    const md = readFileSync(join(out, 'REPORT.md'), 'utf8');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const s of STUDIES) {
      expect(md).toContain(`## ${s.title}`);
      expect(r.stdout).toMatch(new RegExp(`^${s.id}\\t(agrees|disagrees|inconclusive)\\t`, 'm'));
    }
    expect(md).toMatch(/\*\*Verdict: .*(agrees|disagrees|inconclusive)\*\*/);
    const figs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1]);
    expect(figs.length).toBeGreaterThanOrEqual(STUDIES.length);
    for (const f of figs) {
      expect(existsSync(join(out, f))).toBe(true);
      expect(existsSync(join(out, f.replace(/\.png$/, '.vl.json')))).toBe(true);
      expect(existsSync(join(out, f.replace(/\.png$/, '.svg')))).toBe(true);
    }
    expect(html).not.toMatch(/(src|href)=["']https?:/);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(figs.length);
    // progress went to stderr, results to stdout
    expect(r.stderr).toContain('[1/9] claim1');
    expect(r.stdout).not.toContain('[1/9]');
  });

  test('a rerun reuses finished studies; --only names a study or exits 2', () => {
    const again = runCli(['reproduce', '--scale', 'tiny', '--threads', '1', '--only', 'claim3', '--out', out, '--cache', cache]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('reusing results');
    const bad = runCli(['reproduce', '--only', 'claim99', '--out', out, '--cache', cache]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--only: "claim99" is not a study; expected one of claim1');
    const scale = runCli(['reproduce', '--scale', 'huge']);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toContain('tiny | default | paper');
  });
});
