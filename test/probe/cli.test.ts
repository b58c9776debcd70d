// load.ts and `signalprop probe`: a saved model round-trips bit for bit; a malformed model.json, one without
// a field, or one whose weights file is missing exits 2 with one line naming the file; a run writes a run
// directory whose records compare's own reader accepts, with theory records keyed to the Dense layers; a
// model with a layer without theory still gets its measurements and the note. Fixtures are made here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe as group, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { loadRecords } from '../../src/compare/index.js';
import { describe } from '../../src/probe/describe.js';
import { loadModel, readModelArtifacts, saveModel } from '../../src/probe/load.js';
import { runCli } from '../helpers/cli.js';

let root: string;

/** Write text to dir/model.json; its path. */
function modelJson(dir: string, text: string): string {
  writeFileSync(join(dir, 'model.json'), text);
  return join(dir, 'model.json');
}

function bnNet(inputDim: number, width: number, depth: number, outputs: number, seed: number): tf.Sequential {
  const m = tf.sequential();
  for (let l = 0; l < depth; l++) {
    m.add(
      tf.layers.dense({
        units: width,
        kernelInitializer: tf.initializers.heNormal({ seed: seed + l }),
        ...(l === 0 ? { inputShape: [inputDim] } : {}),
      }),
    );
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.reLU());
  }
  m.add(tf.layers.dense({ units: outputs, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 100 }) }));
  return m;
}

/** main() in-process, stdout and stderr captured. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'signalprop', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sp-probe-cli-'));
  const m = bnNet(16, 12, 3, 10, 1);
  await saveModel(m, join(root, 'bn'));
  m.dispose();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

group('load: a saved model', () => {
  it('round-trips: the same weights (bits), the same outputs, the same description', async () => {
    const m = bnNet(16, 12, 3, 10, 7);
    const dir = join(root, 'rt');
    const path = await saveModel(m, dir);
    const back = await loadModel(path);
    const a = m.getWeights();
    const b = back.getWeights();
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) {
      expect(b[i].shape).toEqual(a[i].shape);
      expect(Buffer.from((b[i].dataSync() as Float32Array).buffer)).toEqual(Buffer.from((a[i].dataSync() as Float32Array).buffer));
    }
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 3);
    const ya = (m.predict(x) as tf.Tensor).dataSync();
    const yb = (back.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(yb)).toEqual(Array.from(ya));
    const da = describe(m);
    const db = describe(back);
    expect(db.layers).toEqual(da.layers);
    expect(db.map.map((x) => x.kind)).toEqual(da.map.map((x) => x.kind));
    m.dispose();
    back.dispose();
  });

  it('the bytes the manifest needs are checked against the weight files', () => {
    const dir = join(root, 'short');
    const j = JSON.parse(readFileSync(join(root, 'bn', 'model.json'), 'utf8'));
    writeFileSync(join(dir + '.json'), JSON.stringify(j));
    const bin = readFileSync(join(root, 'bn', 'weights.bin'));
    writeFileSync(join(root, 'weights.bin'), bin.subarray(0, bin.length - 4));
    expect(() => readModelArtifacts(join(dir + '.json'))).toThrow(/needs \d+ bytes, the weight files hold \d+/);
  });
});

group('signalprop probe: bad files and flags exit 2, one line naming the file', () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    ['malformed JSON', (d) => modelJson(d, '{ "modelTopology": '), /model\.json: not valid JSON/],
    ['no modelTopology', (d) => modelJson(d, JSON.stringify({ weightsManifest: [] })), /model\.json: no modelTopology field; expected/],
    [
      'missing weights file',
      (d) => {
        const j = JSON.parse(readFileSync(join(root, 'bn', 'model.json'), 'utf8'));
        writeFileSync(join(d, 'model.json'), JSON.stringify(j));
        return join(d, 'model.json');
      },
      /weights\.bin: the weights file "weights\.bin" that .*model\.json names cannot be read \(ENOENT\); expected/,
    ],
    ['no such model.json', (d) => join(d, 'nothere.json'), /nothere\.json.*expected a model\.json that exists/],
  ];
  for (const [name, make, want] of cases) {
    it(name, async () => {
      const d = mkdtempSync(join(root, 'bad-'));
      const r = await run(['probe', make(d), '--data', 'synthetic', '--steps', '1']);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^signalprop: /);
      expect(lines[0]).toMatch(want);
      expect(lines[0]).not.toMatch(/\n\s+at |\.ts:\d+/);
      expect(r.stdout).toBe('');
    });
  }
  for (const [flags, want] of [
    [['--optimizer', 'adamw'], /--optimizer: "adamw" is not allowed; expected sgd \| momentum \| adam \| rmsprop/],
    [['--steps', '0'], /--steps/],
    [['--data', 'cifar'], /--data: "cifar" is not allowed; expected mnist \| fashion-mnist \| synthetic/],
    [['--record', 'some'], /--record: "some" is not allowed; expected all \| weights/],
  ] as [string[], RegExp][]) {
    it(`flag ${flags.join(' ')}`, async () => {
      const r = await run(['probe', join(root, 'bn', 'model.json'), ...flags]);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(want);
    });
  }
  it('a model whose outputs are not the data’s classes', async () => {
    const m = bnNet(16, 8, 2, 3, 2);
    const p = await saveModel(m, join(root, 'three'));
    m.dispose();
    const r = await run(['probe', p, '--data', 'synthetic', '--steps', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/3 outputs are not allowed; expected 10/);
  });
  it('the real bin passes exit 2 and the one line through (one spawn)', () => {
    const d = mkdtempSync(join(root, 'bin-'));
    writeFileSync(join(d, 'model.json'), '[1, 2]');
    const r = runCli(['probe', join(d, 'model.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/model\.json: not a JSON object/);
  });
});

group('signalprop probe: a run directory', () => {
  it('records every layer, the theory keyed to the Dense layers, and compare reads them', async () => {
    const out = join(root, 'run');
    const r = await run(['probe', join(root, 'bn', 'model.json'), '--data', 'synthetic', '--steps', '3', '--batch', '16', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/probe: step 3\/3/);
    const recs = loadRecords([out]);
    const man = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(man.format).toBe('signalprop-probe-run');
    expect(man.status).toBe('completed');
    const trained = recs.filter((x) => x.source === 'trained');
    const theory = recs.filter((x) => x.source === 'theory');
    // 3 blocks × 3 layers + the readout = 10 recorded layers, each with grad_out_sq at steps 0..2
    expect(new Set(trained.filter((x) => x.quantity === 'grad_out_sq').map((x) => x.layer))).toEqual(
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    );
    // theory at the Dense layers (1, 4, 7: out_var = preact_var) and the ReLU layers (3, 6, 9: out_var, out_mean)
    const tv = theory.filter((x) => x.quantity === 'out_var');
    expect(tv.map((x) => x.layer).sort((a, b) => a! - b!)).toEqual([1, 3, 4, 6, 7, 9]);
    for (const t of tv) {
      const tr = trained.find((x) => x.quantity === 'out_var' && x.layer === t.layer && x.step === 0)!;
      expect(tr.tags!.name).toBe(t.tags!.name);
      expect(tr.specId).toBe(t.specId);
    }
    // all layers recorded: the probe's grad_growth is Dense→BN, not a block ratio, so no theory grad_growth
    expect(theory.filter((x) => x.quantity === 'grad_growth')).toEqual([]);
    expect(man.notes.join('\n')).toMatch(/grad_growth theory is written only where/);
    // the gradient-independence reconstruction at every probed step (0, 1, 2), blocks 1 and 2 (Dense 1, 4)
    const gia = trained.filter((x) => x.quantity === 'gia_growth');
    expect(gia.map((x) => [x.step, x.layer])).toEqual([
      [0, 1],
      [0, 4],
      [1, 1],
      [1, 4],
      [2, 1],
      [2, 4],
    ]);
    expect(gia.every((x) => x.tags!.assumption === 'gradient-independence')).toBe(true);
  });

  it('--record weights: the probe’s grad_growth is the block ratio, and the theory’s joins it', async () => {
    const out = join(root, 'runw');
    const r = await run([
      'probe',
      join(root, 'bn', 'model.json'),
      '--data',
      'synthetic',
      '--steps',
      '2',
      '--batch',
      '16',
      '--record',
      'weights',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const recs = loadRecords([out]);
    const tg = recs.filter((x) => x.source === 'theory' && x.quantity === 'grad_growth');
    expect(tg.map((x) => x.layer)).toEqual([1, 2]);
    for (const t of tg) {
      const m = recs.find((x) => x.source === 'trained' && x.quantity === 'grad_growth' && x.layer === t.layer && x.step === 0)!;
      expect(m.tags!.name).toBe(t.tags!.name);
      // the measured ratio is of the two Dense layers' grad_out_sq (an independent division here)
      const g = (l: number) =>
        recs.find((x) => x.source === 'trained' && x.quantity === 'grad_out_sq' && x.layer === l && x.step === 0)!.value;
      expect(m.value).toBeCloseTo(g(t.layer!) / g(t.layer! + 1), 5);
    }
  });

  it('a layer without theory: measurements of every layer, the note, no theory records', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [16], kernelInitializer: tf.initializers.heNormal({ seed: 4 }) }),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.dense({ units: 10 }),
      ],
    });
    const p = await saveModel(m, join(root, 'relu6'));
    const name = m.layers[1].name;
    m.dispose();
    const out = join(root, 'run6');
    const r = await run(['probe', p, '--data', 'synthetic', '--steps', '2', '--batch', '8', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`note: no theory for layer ${name} (ReLU): ReLU with maxValue 6 (a clipped ReLU)`);
    const recs = loadRecords([out]);
    expect(recs.filter((x) => x.source === 'theory')).toEqual([]);
    expect(new Set(recs.filter((x) => x.quantity === 'out_var').map((x) => x.tags!.name)).size).toBe(3);
  });

  it('an image model ([batch, H, W, C]): the data rows reshaped NHWC, every layer measured', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [4, 4, 1],
          filters: 3,
          kernelSize: 3,
          padding: 'same',
          kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 10 }),
      ],
    });
    const p = await saveModel(m, join(root, 'conv'));
    const names = m.layers.map((l) => l.name);
    m.dispose();
    const out = join(root, 'runConv');
    const r = await run(['probe', p, '--data', 'synthetic', '--steps', '2', '--batch', '8', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const recs = loadRecords([out]);
    // the conv layer's output statistics are per channel over B·H·W rows: a variance of BN-normalized values is 1
    const bnVar = recs.find((x) => x.quantity === 'out_var' && x.tags!.name === names[1] && x.step === 0)!.value;
    expect(Math.abs(bnVar - 1)).toBeLessThan(1e-2);
    expect(new Set(recs.filter((x) => x.quantity === 'out_var').map((x) => x.tags!.name))).toEqual(new Set(names));
    expect(recs.filter((x) => x.quantity === 'loss').length).toBe(2);
  });
});
