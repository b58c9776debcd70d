// The rooms' import rules (docs/architecture.md), checked on the sources: theory and spec stay
// browser-safe (no Node APIs) and import no room above them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

function imports(room: string): { file: string; spec: string }[] {
  const out: { file: string; spec: string }[] = [];
  for (const f of readdirSync(join(SRC, room))) {
    if (!f.endsWith('.ts')) continue;
    const text = readFileSync(join(SRC, room, f), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) out.push({ file: `${room}/${f}`, spec: m[1] });
    for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push({ file: `${room}/${f}`, spec: m[1] });
  }
  return out;
}

const ALLOWED: Record<string, string[]> = {
  spec: [],
  theory: ['spec'],
  sample: ['spec', 'theory', 'parallel'],
  compare: ['spec'],
  reproduce: ['spec', 'io'],
};

describe('rooms import only what docs/architecture.md allows', () => {
  test.each(Object.entries(ALLOWED))('%s imports only %j of the other rooms', (room, allowed) => {
    for (const { file, spec } of imports(room)) {
      const m = spec.match(/^\.\.\/([a-z]+)\//);
      if (m) expect(allowed, `${file} imports ${spec}`).toContain(m[1]);
    }
  });
  test.each(['spec', 'theory'])('%s uses no Node API (it runs in a browser)', (room) => {
    for (const { file, spec } of imports(room)) expect(spec.startsWith('node:'), `${file} imports ${spec}`).toBe(false);
  });
});
