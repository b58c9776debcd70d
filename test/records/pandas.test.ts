// The recipes of docs/records.md, run: pandas reads a training run's records.jsonl and compare's CSV, and
// gets the same rows and the same float64 values signalprop wrote. Skipped with one line where there is
// no Python with pandas (Debian: apt-get install python3-pandas).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const python = '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import pandas; print(pandas.__version__)'], { encoding: 'utf8' });
const havePandas = probe.status === 0;
if (!havePandas) console.warn(`pandas recipes skipped: no pandas under ${python} (apt-get install python3-pandas)`);

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'signalprop.js');
const dir = mkdtempSync(join(tmpdir(), 'signalprop-pandas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function py(code: string): unknown {
  return JSON.parse(execFileSync(python, ['-c', code], { encoding: 'utf8', timeout: 120_000 }));
}

describe.skipIf(!havePandas)(`pandas ${probe.stdout.trim()} reads what signalprop writes`, () => {
  it('records.jsonl of a training run: same rows, same values (precise_float), tags spread into columns', () => {
    const run = join(dir, 'run');
    execFileSync(
      process.execPath,
      [bin, 'train', '--data', 'synthetic', '--steps', '3', '--depth', '3', '--width', '8', '--batch', '8', '--out', run],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120_000,
      },
    );
    const lines = readFileSync(join(run, 'records.jsonl'), 'utf8').trim().split('\n');
    const ours = lines.map(
      (l) => JSON.parse(l) as { quantity: string; value: number; layer: number | null; tags?: Record<string, unknown> },
    );
    const got = py(`
import json, pandas as pd
df = pd.read_json(${JSON.stringify(join(run, 'records.jsonl'))}, lines=True, precise_float=True)
tags = pd.json_normalize(df["tags"].apply(lambda t: t if isinstance(t, dict) else {})).add_prefix("tags.")
df = pd.concat([df.drop(columns="tags"), tags], axis=1)
print(json.dumps({"n": len(df), "quantity": df["quantity"].tolist(), "value": [float(v) for v in df["value"]],
                  "layer": [None if pd.isna(v) else int(v) for v in df["layer"]], "tagcols": sorted(c for c in df.columns if c.startswith("tags."))}))
`) as { n: number; quantity: string[]; value: number[]; layer: (number | null)[]; tagcols: string[] };
    expect(got.n).toBe(ours.length);
    expect(got.quantity).toEqual(ours.map((r) => r.quantity));
    expect(got.value).toEqual(ours.map((r) => r.value)); // bit for bit: precise_float parses the shortest round-trip decimal
    expect(got.layer).toEqual(ours.map((r) => r.layer));
    const tagNames = [...new Set(ours.flatMap((r) => Object.keys(r.tags ?? {})))].map((t) => `tags.${t}`).sort();
    expect(got.tagcols).toEqual(tagNames);
  });

  it("compare's CSV: pandas.read_csv gives the rows and numbers of compare.json", () => {
    const out = join(dir, 'cmp');
    const rec = join(dir, 'predict.json');
    execFileSync(process.execPath, [bin, 'predict', '--depth', '4', '--width', '32', '--batch', '16', '--json', '--out', rec], {
      stdio: 'ignore',
      timeout: 60_000,
    });
    execFileSync(
      process.execPath,
      [bin, 'sample', '--depth', '4', '--width', '32', '--batch', '16', '--seeds', '3', '--json', '--out', join(dir, 'sample.json')],
      {
        stdio: 'ignore',
        timeout: 120_000,
      },
    );
    // compare reads record arrays; the --json outputs hold them under "records"
    const toRecords = (src: string, dst: string) => {
      const j = JSON.parse(readFileSync(src, 'utf8')) as { records: unknown[] };
      writeFileSync(dst, JSON.stringify(j.records));
    };
    toRecords(rec, join(dir, 'theory.json'));
    toRecords(join(dir, 'sample.json'), join(dir, 'sampled.json'));
    execFileSync(process.execPath, [bin, 'compare', join(dir, 'theory.json'), join(dir, 'sampled.json'), '--out', out], {
      stdio: 'ignore',
      timeout: 60_000,
    });
    const cmp = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as { pairs: Record<string, unknown>[] };
    expect(cmp.pairs.length).toBeGreaterThan(0);
    const got = py(`
import json, pandas as pd
df = pd.read_csv(${JSON.stringify(join(out, 'compare-pairs.csv'))}, float_precision="round_trip")
print(json.dumps({"n": len(df), "columns": list(df.columns), "rows": json.loads(df.to_json(orient="records", double_precision=15))}))
`) as { n: number; columns: string[]; rows: Record<string, unknown>[] };
    expect(got.n).toBe(cmp.pairs.length);
    // every numeric column of the CSV equals compare.json's field of the same name, row by row
    const numeric = got.columns.filter((c) => typeof cmp.pairs[0][c] === 'number');
    expect(numeric.length).toBeGreaterThan(2);
    for (let i = 0; i < got.n; i++)
      for (const c of numeric) {
        const want = cmp.pairs[i][c] as number;
        const have = got.rows[i][c] as number;
        expect(Math.abs(have - want)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(want)));
      }
  });
});
