// package.json's engines must be true for every runtime dependency: the Node versions we claim are a subset
// of what each installed production package (package-lock.json, dev dependencies excluded) declares. It
// caught vega-lite 6.5 (node >= 22) and commander 15.1 (node >= 22.12) while we claimed >= 20.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; engines?: Record<string, string> | string[] }>;
};

describe('engines', () => {
  it('claims the Node lines people run (20 while installed here, 22, 24, 26) and this machine’s Node', () => {
    for (const v of ['20.19.0', '22.12.0', '24.0.0', '26.0.0', process.versions.node])
      expect(semver.satisfies(v, pkg.engines.node), v).toBe(true);
  });

  it('every production dependency supports every Node version the package claims', () => {
    const narrower: string[] = [];
    for (const [path, m] of Object.entries(lock.packages)) {
      if (!path || m.dev || !m.engines || Array.isArray(m.engines) || !m.engines.node) continue;
      if (!semver.subset(pkg.engines.node, m.engines.node))
        narrower.push(`${path.replace(/^.*node_modules\//, '')} (node ${m.engines.node})`);
    }
    expect(narrower).toEqual([]);
  });

  it('the check can fail: a range claiming Node 18 is not a subset of vega-lite’s', () => {
    const vl = lock.packages['node_modules/vega-lite'].engines as Record<string, string>;
    expect(semver.subset('>=18', vl.node)).toBe(false);
  });
});
