// The Quantity union is closed: a record's quantity is a key of QUANTITIES or one of the log forms
// (`log_<q>` for q in LOG_FORM_QUANTITIES), so an emitter with a new name fails to compile until the
// name has its entry. Checked here at compile time and on every golden record at run time.
import { describe, expect, test } from 'vitest';
import { makeSpec, specFields } from '../../src/network/index.js';
import { LOG_FORM_QUANTITIES, type Quantity, QUANTITIES, record } from '../../src/records/index.js';
import { GOLDEN_FILES, readGolden } from '../helpers/golden.js';

const KNOWN = new Set<string>([...Object.keys(QUANTITIES), ...LOG_FORM_QUANTITIES.map((q) => `log_${q}`)]);

describe('the Quantity union', () => {
  test('a name outside QUANTITIES does not compile', () => {
    const f = specFields(makeSpec({ depth: 2, width: 4, batch: 4 }));
    // @ts-expect-error: not a quantity
    const bad = record(f, 'theory', 'no_such_quantity', null, 1);
    const logForm: Quantity = 'log_q';
    // @ts-expect-error: grad_growth has no log form
    const badLog: Quantity = 'log_grad_growth';
    expect([bad.quantity, logForm, badLog]).toHaveLength(3);
  });
  test('every log form names a quantity, and every described quantity has text', () => {
    for (const q of LOG_FORM_QUANTITIES) expect(QUANTITIES).toHaveProperty(q);
    for (const [q, text] of Object.entries(QUANTITIES)) expect(text.length, q).toBeGreaterThan(4);
  });
  test('every quantity in the golden records is known', () => {
    for (const name of GOLDEN_FILES) {
      const g = readGolden(name);
      for (const e of g?.entries ?? [])
        for (const row of e.records.rows) expect(KNOWN.has(row[1] as string), `${name}: ${e.id}: ${row[1]}`).toBe(true);
    }
  });
});
