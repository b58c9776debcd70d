// The rooms' import rules, read from the table in docs/architecture.md and checked on every source file
// (subfolders included): each room imports only the rooms its "may import" cell names (`everything`,
// `nothing of ours`), a cell that lists packages (or says "only") limits the packages too, and a room the
// table calls browser-safe ("browser", "no Node APIs") imports no node: module. analysis/ uses only the
// rooms' public surfaces: a room's index.ts (what its subpath `signalprop/<room>` exports), by relative path so
// the same files run from the sources and compiled. Every folder under src/ must have a row, and every row a folder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

interface Rule {
  room: string;
  /** rooms it may import (null: every room) */
  rooms: string[] | null;
  /** the packages it may import (null: not limited by the table) */
  packages: string[] | null;
  browserSafe: boolean;
  cell: string;
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

/** The rows of the rooms table: | room | what lives there | may import |. */
function readTable(): { rules: Rule[]; analysis: string | null } {
  const md = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const lines = md.split('\n');
  const head = lines.findIndex((l) => /^\|\s*room\s*\|/.test(l) && /may import/.test(l));
  if (head < 0) throw new Error('docs/architecture.md has no table with a "room" and a "may import" column');
  const cols = cells(lines[head]);
  const iRoom = cols.indexOf('room');
  const iWhat = cols.findIndex((c) => /what lives/.test(c));
  const iMay = cols.findIndex((c) => /may import/.test(c));
  const rules: Rule[] = [];
  let analysis: string | null = null;
  for (const line of lines.slice(head + 2)) {
    if (!line.trim().startsWith('|')) break;
    const c = cells(line);
    const roomCell = c[iRoom];
    const may = c[iMay];
    const what = c[iWhat] ?? '';
    const m = roomCell.match(/`src\/([a-z]+)`/);
    if (!m) {
      if (/analysis/.test(roomCell)) analysis = may;
      continue;
    }
    const named = [...may.matchAll(/`([a-z]+)`/g)].map((x) => x[1]);
    const rooms = /\beverything\b/.test(may) ? null : /nothing of ours/.test(may) ? [] : named;
    // packages: the comma-separated plain names before the first ';' (e.g. "zod, mathjs, ml-matrix; no other room")
    const plain = may
      .split(';')[0]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^@?[a-z0-9][\w.-]*(\/[\w.-]+)?$/.test(s) && !['everything', 'nothing'].includes(s));
    const packages = plain.length ? plain : /\bonly\b/.test(may) ? [] : null;
    const browserSafe = /browser|no Node APIs/i.test(what + may);
    rules.push({ room: m[1], rooms, packages, browserSafe, cell: may });
  }
  return { rules, analysis };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (f.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push(m[1]);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push(m[1]);
  return out;
}

/** The room a relative import lands in (null: outside src/, or src/index.ts). */
function targetRoom(file: string, spec: string): string | null {
  const rel = relative(SRC, resolve(dirname(file), spec));
  // the native addon's JavaScript and declarations (native/blas), named `native` in the table
  if (rel.startsWith('../native/')) return 'native';
  if (rel.startsWith('..')) return `outside src (${rel})`;
  const parts = rel.split('/');
  return parts.length > 1 ? parts[0] : null;
}

function packageName(spec: string): string {
  const p = spec.split('/');
  return spec.startsWith('@') ? `${p[0]}/${p[1]}` : p[0];
}

const { rules, analysis } = readTable();

describe('rooms import only what docs/architecture.md allows', () => {
  test('the table has a row for every folder under src/, and a folder for every row', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(rules.map((r) => r.room).sort()).toEqual(folders.sort());
  });

  test.each(rules.map((r) => [r.room, r] as const))('src/%s', (room, rule) => {
    const bad: string[] = [];
    for (const file of walk(join(SRC, room))) {
      const name = relative(ROOT, file);
      for (const spec of specifiers(file)) {
        if (spec.startsWith('.')) {
          const to = targetRoom(file, spec);
          if (to === null || to === room) continue;
          if (rule.rooms !== null && !rule.rooms.includes(to))
            bad.push(`${name} imports ${spec} (room ${to}); src/${room} may import: ${rule.cell}`);
        } else if (spec.startsWith('node:')) {
          if (rule.browserSafe) bad.push(`${name} imports ${spec}: src/${room} is browser-safe (no Node APIs)`);
        } else if (rule.packages !== null) {
          const pkg = packageName(spec);
          if (!rule.packages.some((p) => spec === p || spec.startsWith(`${p}/`) || pkg === p))
            bad.push(`${name} imports the package ${spec}; src/${room} may import: ${rule.cell}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  test('the browser-safe rooms are the ones the table says (network, records and theory at least)', () => {
    const safe = rules.filter((r) => r.browserSafe).map((r) => r.room);
    expect(safe).toContain('network');
    expect(safe).toContain('records');
    expect(safe).toContain('theory');
  });

  test("analysis/ uses only the rooms' public surfaces (src/<room>/index.ts), never their internals", () => {
    expect(analysis, 'a row for analysis/ in the table').toMatch(/index\.ts/);
    const allowed = [...(analysis ?? '').matchAll(/`([a-z]+)`/g)].map((x) => x[1]);
    const bad: string[] = [];
    for (const file of walk(join(ROOT, 'analysis'))) {
      for (const spec of specifiers(file)) {
        if (spec.startsWith('.')) {
          const rel = relative(join(ROOT, 'analysis'), resolve(dirname(file), spec));
          if (!rel.startsWith('..')) continue;
          const m = relative(SRC, resolve(dirname(file), spec)).match(/^([a-z]+)\/index\.js$/);
          if (!m || !allowed.includes(m[1])) bad.push(`${relative(ROOT, file)} imports ${spec}`);
        } else if (!spec.startsWith('node:') && spec !== 'signalprop' && !spec.startsWith('signalprop/'))
          bad.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
