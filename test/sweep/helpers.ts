// Shared bits of the sweep tests: the fixture kind, temp dirs, reading a store.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerCellKind } from '../../src/sweep/index.js';

export const FIXTURE = fileURLToPath(new URL('./fixtures/testKind.ts', import.meta.url));

export function useFixtureKind(): void {
  registerCellKind('fixture', FIXTURE);
}

const made: string[] = [];

export function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `sp-sweep-${label}-`));
  made.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function readJsonl<T = any>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Records in a canonical order, for comparing two stores. */
export function sortedRecords(records: any[]): string[] {
  return records.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
}
