// The Fashion-MNIST loader (src/train/data/fashion.ts): the published split's counts, labels 0–9 with every class
// present, pixels in [0, 1] (bytes/255: every value a multiple of 1/255), the IDX reader on hand-made files, and a
// missing or bad file refused with exit code 2 naming the path and the install line. The real-data checks run
// where Debian's dataset-fashion-mnist is installed (they say so when it is not).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/network/index.js';
import { FASHION_DIR, FASHION_FILES, FASHION_INSTALL, loadData, makeDataConfig, readIdx } from '../../src/train/data/index.js';
import { spawnCli } from '../helpers/spawnCli.js';

const HAVE = Object.values(FASHION_FILES).every((f) => existsSync(join(FASHION_DIR, f)));

/** An IDX file of unsigned bytes (gzip) with the given dimensions and data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => {
    head.writeUInt32BE(d, 4 + 4 * i);
  });
  return gzipSync(Buffer.concat([head, Buffer.from(data)]));
}

describe('the IDX reader', () => {
  it('reads dimensions and bytes; refuses a bad magic, a short file and a missing file, naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-idx-'));
    const ok = join(dir, 'ok.gz');
    writeFileSync(ok, idx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 255])));
    const r = readIdx(ok, 2);
    expect(r.dims).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 255]);
    const short = join(dir, 'short.gz');
    writeFileSync(short, idx([2, 3], Uint8Array.from([1, 2])));
    expect(() => readIdx(short, 2)).toThrow(InputError);
    expect(() => readIdx(short, 2)).toThrow(short);
    expect(() => readIdx(ok, 3)).toThrow(/magic/);
    const notGz = join(dir, 'plain');
    writeFileSync(notGz, 'not gzip');
    expect(() => readIdx(notGz, 1)).toThrow(/unreadable/);
    const missing = join(dir, 'nope.gz');
    expect(() => readIdx(missing, 1)).toThrow(new RegExp(`${missing}.*missing.*${FASHION_INSTALL}`));
  });
});

describe.runIf(HAVE)(`Fashion-MNIST from ${FASHION_DIR}`, () => {
  it('the published split: 60,000 train and 10,000 test, labels 0–9 (the test set 1,000 of each class), pixels bytes/255 in [0, 1]', () => {
    const ds = loadData(makeDataConfig('fashion-mnist'), 1, 784, true);
    expect(ds.nTrain).toBe(60000);
    expect(ds.nTest).toBe(10000);
    const t = ds.test();
    const counts = new Array(10).fill(0);
    for (const y of t.labels!) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(1000)); // the published test set is balanced
    let lo = 1;
    let hi = 0;
    let off = 0;
    for (const v of t.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      off = Math.max(off, Math.abs(v * 255 - Math.round(v * 255)));
    }
    expect(lo).toBe(0);
    expect(hi).toBe(1);
    expect(off).toBeLessThan(1e-4); // float32 of k/255
    const b = ds.batch(0, 600);
    const trainCounts = new Array(10).fill(0);
    for (const y of b.labels!) trainCounts[y]++;
    expect(trainCounts.every((c) => c > 20)).toBe(true); // a shuffled batch holds every class
  });
});

describe('without the files', () => {
  it('--data fashion-mnist with a missing directory: exit 2, one line naming the path and the install line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-nofashion-'));
    const cfg = join(dir, 'train.json');
    writeFileSync(cfg, JSON.stringify({ data: { kind: 'fashion-mnist', dir: join(dir, 'absent') }, steps: 1 }));
    const r = await spawnCli(['train', '--config', cfg, '--depth', '2', '--width', '8', '--batch', '8']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, 'absent', FASHION_FILES.trainImages));
    expect(r.stderr).toContain(FASHION_INSTALL);
    if (!HAVE) console.warn(`Fashion-MNIST is not installed at ${FASHION_DIR}: the real-data checks were skipped (${FASHION_INSTALL})`);
  });
});
