import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJoin, parseTolerance } from '../../src/cli/commands/compare.js';
import { FIGURE_NAMES } from '../../src/figures/registry.js';
import { runCli } from '../helpers/cli.js';
import { batchRecords, gradientRecords } from './fixtures.js';
import { pdfPageSizes } from './pdfReader.js';

const dir = mkdtempSync(join(tmpdir(), 'sp-cli-fig-'));
const batchFile = join(dir, 'batch.json');
writeFileSync(batchFile, JSON.stringify(batchRecords()));
const gradFile = join(dir, 'grad.jsonl');
writeFileSync(
  gradFile,
  gradientRecords(6, 3)
    .map((r) => JSON.stringify(r))
    .join('\n'),
);

describe('signalprop figure / compare / report', () => {
  it('figure: an unknown name exits 2 listing the allowed names; --help documents --from', () => {
    const bad = runCli(['figure', 'nope', '--from', batchFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`figure: "nope" is not allowed; expected one of ${FIGURE_NAMES.join(', ')}, all`);
    const help = runCli(['figure', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--from <inputs...>');
  });

  it('figure: writes .vl.json, .svg and .png', () => {
    const out = join(dir, 'figs');
    const r = runCli(['figure', 'lambda-vs-batch', '--from', batchFile, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const ext of ['vl.json', 'svg', 'png']) expect(existsSync(join(out, `lambda-vs-batch.${ext}`))).toBe(true);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('figure --format svg,png,pdf --size column: the PDF is one page 3.25 in wide', () => {
    const out = join(dir, 'paper');
    const r = runCli(['figure', 'lambda-vs-batch', '--from', batchFile, '--out', out, '--format', 'svg,png,pdf', '--size', 'column']);
    expect(r.code, r.stderr).toBe(0);
    const paths = r.stdout.trim().split('\n');
    expect(paths.map((p) => p.slice(out.length + 1))).toEqual([
      'lambda-vs-batch.vl.json',
      'lambda-vs-batch.svg',
      'lambda-vs-batch.png',
      'lambda-vs-batch.pdf',
    ]);
    const pages = pdfPageSizes(readFileSync(join(out, 'lambda-vs-batch.pdf')));
    expect(pages.map((p) => Math.round(p.width * 100) / 100)).toEqual([3.25 * 72]);
    const only = runCli(['figure', 'lambda-vs-batch', '--from', batchFile, '--out', join(dir, 'pdfonly'), '--format', 'pdf']);
    expect(only.code, only.stderr).toBe(0);
    expect(
      only.stdout
        .trim()
        .split('\n')
        .map((p) => p.split('.').slice(1).join('.')),
    ).toEqual(['vl.json', 'pdf']);
  });

  it.each([
    [['--size', '3x'], '--size: "3x" is not allowed; expected column (3.25 in), full (6.75 in) or <width>x<height>'],
    [['--format', 'jpg'], '--format: "jpg" is not allowed; expected a comma-separated list of svg, png, pdf'],
    [['--font-size', '-1'], '--font-size: "-1" is not allowed; expected a decimal number >= 4 and <= 40'],
    [['--theme', 'dark'], '--theme: "dark" is not allowed; expected report | paper'],
    [['--layers', '3-1'], '--layers: "3-1" is not allowed; expected layer numbers or ranges'],
    [['--corr', 'r2'], '--corr: "r2" is not allowed; expected corr | unit_corr'],
  ])('figure %j: one line naming the flag, the value and what is allowed, exit 2', (flag, message) => {
    const r = runCli(['figure', 'lambda-vs-batch', '--from', batchFile, '--out', join(dir, 'bad'), ...flag]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat \S+:\d+:\d+/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('figure: what a figure left out is a note on stderr, and in the figure', () => {
    const one = join(dir, 'one-theory.json');
    writeFileSync(one, JSON.stringify(batchRecords().filter((r) => r.source !== 'theory' || r.batch === 32)));
    const out = join(dir, 'notes');
    const r = runCli(['figure', 'lambda-vs-batch', '--from', one, '--out', out, '--format', 'svg']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'figure lambda-vs-batch: note: theory λ(B) given at one batch size only (B = 32): drawn as a point, no curve',
    );
    expect(readFileSync(join(out, 'lambda-vs-batch.svg'), 'utf8')).toContain('note: theory λ(B) given at one batch size only');
  });

  it('reproduce --format without svg and png exits 2 before any study runs', () => {
    const r = runCli([
      'reproduce',
      '--format',
      'pdf',
      '--only',
      'claim7',
      '--scale',
      'tiny',
      '--out',
      join(dir, 'rep'),
      '--cache',
      join(dir, 'rep-cache'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format: "pdf" is not allowed; expected a list with svg and png');
    expect(existsSync(join(dir, 'rep'))).toBe(false);
    const bad = runCli(['reproduce', '--format', 'svg,png,eps', '--only', 'claim7', '--scale', 'tiny', '--out', join(dir, 'rep')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format: "eps" is not allowed; expected a comma-separated list of svg, png, pdf');
  });

  it('compare: prints the summary, writes JSON and CSV; a missing input exits 2 naming it', () => {
    const out = join(dir, 'cmp');
    const r = runCli(['compare', batchFile, gradFile, '--out', out, '--tolerance', '0.02']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/growth\s+theory\s+sampled\s+8\s/);
    expect(r.stdout).toMatch(/log_grad_h_sq\s+theory\s+sampled\s+6\s/);
    const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect([...new Set(json.summary.map((s: any) => `${s.quantity}:${s.reference}-${s.measured}`))].sort()).toEqual([
      'growth:theory-sampled',
      'log_grad_h_sq:sampled-trained',
      'log_grad_h_sq:theory-sampled',
      'log_grad_h_sq:theory-trained',
    ]);
    expect(readFileSync(join(out, 'compare-summary.csv'), 'utf8').split('\n')[0]).toMatch(/^quantity,reference,measured/);
    const bad = runCli(['compare', join(dir, 'absent.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/absent\.json: no such file or directory/);
  });

  it('flag parsing names the flag, the value and what is allowed', () => {
    expect(() => parseTolerance('x')).toThrow('--tolerance: "x" is not allowed');
    expect(parseTolerance('growth=0.02,*=0.1')).toEqual({ growth: 0.02, '*': 0.1 });
    expect(() => parseJoin('depth,colour')).toThrow(/--join: "colour" is not allowed; expected specId or comma-separated spec fields/);
  });

  it('report: one HTML file with the figures the records support', () => {
    const out = join(dir, 'report.html');
    const r = runCli(['report', '--from', batchFile, gradFile, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('id="fig-lambda-vs-batch"');
    expect(html).toContain('id="fig-gradient-vs-depth"');
    expect(html).not.toMatch(/https?:/);
    expect(r.stderr).toMatch(/phase-diagram not drawn/);
  });
});
