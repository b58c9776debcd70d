// --config takes a bare spec, a train config or a run's manifest.json (the spec it ran), BOM or not.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigFromFlags } from '../../src/cli/commands/train.js';
import { main } from '../../src/cli/program.js';
import { TRAIN_CONFIG_FIELDS } from '../../src/cli/specFlags.js';
import { makeSpec, specToJSON } from '../../src/network/index.js';
import { fieldsOf } from '../../src/network/input.js';
import { TRAIN_CONFIG_SCHEMA } from '../../src/train/config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string) => {
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'signalprop', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

// A manifest as train writes it (src/train/run.ts Manifest): the run's resolved config holds its spec.
const RUN_SPEC = specToJSON(makeSpec({ depth: 7, width: 24, batch: 16, activation: 'tanh', init: { sigmaW2: 1.5 } }));
const MANIFEST = {
  format: 'signalprop-train-run',
  version: 1,
  config: { spec: RUN_SPEC, data: { kind: 'synthetic', dim: 24 }, loss: 'xent', optimizer: { kind: 'sgd', lr: 0.1 }, steps: 3, seed: 5 },
  specId: 'x',
  status: 'completed',
  stepsDone: 3,
};

describe('--config', () => {
  it("the spec flags' list of train-config fields is the trainer's schema's", () => {
    expect([...TRAIN_CONFIG_FIELDS].sort()).toEqual([...fieldsOf(TRAIN_CONFIG_SCHEMA)].sort());
  });
  it('a train config naming its generator (rng) gives its spec to predict', async () => {
    const p = join(dir, 'train-rng.json');
    writeFileSync(p, JSON.stringify({ spec: { depth: 5, width: 16, activation: 'tanh' }, steps: 3, seed: 2, rng: 'mt19937' }));
    const r = await run(['predict', '--config', p, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).spec).toMatchObject({ depth: 5, width: 16, activation: 'tanh' });
  });
  it("a run's manifest.json predicts the run's spec, not the default", async () => {
    const p = join(dir, 'manifest.json');
    writeFileSync(p, JSON.stringify(MANIFEST));
    const r = await run(['predict', '--config', p, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.spec).toMatchObject({ depth: 7, width: 24, batch: 16, activation: 'tanh' });
    expect(j.spec.init.sigmaW2).toBe(1.5);
    // and flags still override it
    const o = await run(['predict', '--config', p, '--depth', '9', '--json']);
    expect(JSON.parse(o.stdout).spec.depth).toBe(9);
  });

  it('train takes the config of a manifest (steps, seed, optimizer and spec)', () => {
    const p = join(dir, 'manifest2.json');
    writeFileSync(p, JSON.stringify(MANIFEST));
    const cfg = trainConfigFromFlags({ config: p }) as any;
    expect(cfg.steps).toBe(3);
    expect(cfg.seed).toBe(5);
    expect(cfg.spec).toMatchObject({ depth: 7, width: 24, batch: 16 });
  });

  it('a UTF-8 BOM is accepted; a typo in a BOM file is still named', async () => {
    const p = join(dir, 'bom.json');
    writeFileSync(p, `\ufeff${JSON.stringify({ depth: 5, width: 16 })}`);
    const r = await run(['predict', '--config', p, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).spec.depth).toBe(5);
    const t = join(dir, 'bomTypo.json');
    writeFileSync(t, `\ufeff${JSON.stringify({ depht: 5 })}`);
    const e = await run(['predict', '--config', t]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('depht: 5 is not allowed');
  });

  it('a train config given to predict: its spec; its other fields must be train fields', async () => {
    const p = join(dir, 'train.json');
    writeFileSync(p, JSON.stringify({ spec: { depth: 6, width: 8 }, steps: 2, seed: 1 }));
    const r = await run(['predict', '--config', p, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).spec.depth).toBe(6);
  });
});
