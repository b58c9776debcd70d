// docs/records.md lists every record field and every quantity, and nothing else: it is the schema a user
// outside TypeScript (pandas, R) reads, so it must not drift from RECORD_FIELDS and QUANTITIES.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_FORM_QUANTITIES, QUANTITIES, RECORD_FIELDS } from '../../src/records/index.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'records.md'), 'utf8');

/** The backticked names in the first column of the table under a heading. */
function firstColumn(heading: string): string[] {
  const start = doc.indexOf(`## ${heading}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const section = doc.slice(start, doc.indexOf('\n## ', start + 3) === -1 ? undefined : doc.indexOf('\n## ', start + 3));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1].matchAll(/`([a-zA-Z_0-9]+)`/g)].map((m) => m[1]));
}

describe('docs/records.md', () => {
  it('lists exactly the record fields', () => {
    expect(firstColumn('Fields').sort()).toEqual([...RECORD_FIELDS].sort());
  });
  it('lists exactly the quantities, each with its definition', () => {
    expect(firstColumn('Quantities').sort()).toEqual(Object.keys(QUANTITIES).sort());
    for (const def of Object.values(QUANTITIES)) expect(doc).toContain(def.replace(/\|/g, '\\|'));
    for (const q of LOG_FORM_QUANTITIES) expect(doc).toContain(`\`log_${q}\``);
  });
});
