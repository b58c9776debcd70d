// The sampler's image kinds (src/sample/layers/conv.ts, pool.ts, resblock.ts; BatchNorm2d in batchnorm.ts and
// fused.ts): the im2col convolution against a direct seven-loop reference; every kind's backward against
// central differences; BatchNorm2d's output statistics per channel; a 1×1 conv-bn-act net against the MLP
// sampler on the same numbers (a second implementation: positions are samples); and the inits' moments.
import { describe, expect, it } from 'vitest';
import {
  convOut,
  drawConv,
  drawLinear,
  type ImageShape,
  type LinearParams,
  layersOf,
  makeSpec,
  normalStream,
  type NetworkSpec,
} from '../../src/network/index.js';
import { convForward, convGeom, SAMPLE_LAYERS } from '../../src/sample/layers/index.js';
import { forwardBackward, layerListCheck, sampleNet } from '../../src/sample/network.js';
import { type Eval, fdCheck } from './fdCheck.js';
import { fillGaussian } from './fastDraws.js';

const U = 2 ** -53;
const randn = (len: number, seed: number, scale = 1) => fillGaussian(new Float64Array(len), seed, scale);

/** The direct definition: h[b, y, x, o] = Σ_{dy,dx,c} W[o, dy, dx, c]·x[b, s·y + dy − p, s·x + dx − p, c] + b_o; and Σ|terms|. */
function directConv(x: Float64Array, B: number, s: ImageShape, p: LinearParams, k: number, stride: number, pad: number) {
  const ho = convOut(s.h, k, stride, pad);
  const wo = convOut(s.w, k, stride, pad);
  const C = p.nOut;
  const h = new Float64Array(B * ho * wo * C);
  const mag = new Float64Array(h.length);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++)
        for (let o = 0; o < C; o++) {
          let t = p.b[o];
          let m = Math.abs(p.b[o]);
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++)
              for (let c = 0; c < s.c; c++) {
                const iy = stride * y + dy - pad;
                const ix = stride * xx + dx - pad;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const v = p.W[o * p.nIn + (dy * k + dx) * s.c + c] * x[((b * s.h + iy) * s.w + ix) * s.c + c];
                t += v;
                m += Math.abs(v);
              }
          const at = ((b * ho + y) * wo + xx) * C + o;
          h[at] = t;
          mag[at] = m;
        }
  return { h, mag };
}

/** A spec that sizes the walker for a list on an image input. */
function imageSpec(layers: unknown[], image: [number, number, number], batch: number): NetworkSpec {
  return makeSpec({ layers, image, batch });
}

describe('conv2d forward against the direct loops', () => {
  const cases = [
    { k: 3, stride: 1, pad: 1, s: { h: 5, w: 6, c: 3 }, cOut: 4 },
    { k: 3, stride: 2, pad: 1, s: { h: 7, w: 5, c: 2 }, cOut: 3 },
    { k: 2, stride: 1, pad: 0, s: { h: 4, w: 4, c: 3 }, cOut: 5 },
    { k: 5, stride: 3, pad: 2, s: { h: 8, w: 7, c: 2 }, cOut: 2 },
    { k: 1, stride: 1, pad: 0, s: { h: 3, w: 3, c: 4 }, cOut: 4 },
  ];
  for (const { k, stride, pad, s, cOut } of cases) {
    it(`k = ${k}, stride ${stride}, padding ${pad}, ${s.h}×${s.w}×${s.c} → ${cOut} channels`, () => {
      const B = 3;
      const spec = imageSpec([{ kind: 'conv2d', channels: cOut, kernel: k, stride, padding: pad }], [s.h, s.w, s.c], B);
      const net = sampleNet(spec, [], B, 'typescript');
      const p: LinearParams = {
        nOut: cOut,
        nIn: k * k * s.c,
        W: randn(cOut * k * k * s.c, 11),
        b: randn(cOut, 12),
      };
      const x = randn(B * s.h * s.w * s.c, 13);
      const g = convGeom(B, s, k, stride, pad);
      const { h } = convForward(net, p, x, g);
      const ref = directConv(x, B, s, p, k, stride, pad);
      expect(h.length).toBe(ref.h.length);
      // both sum the same K + 1 terms in different orders: |Δ| ≤ 2·γ_{K+1}·Σ|terms|, γ_n = n·u/(1 − n·u)
      const K = k * k * s.c + 1;
      const gam = (K * U) / (1 - K * U);
      for (let t = 0; t < h.length; t++) expect(Math.abs(h[t] - ref.h[t])).toBeLessThanOrEqual(2 * gam * ref.mag[t]);
      // and the values are not all zero (the check is not vacuous)
      expect(Math.max(...Array.from(ref.h, Math.abs))).toBeGreaterThan(0.1);
    });
  }
});

describe("the image kinds' backward against central differences (float64)", () => {
  const B = 2;
  /** ∂/∂x (and ∂/∂W of block 1's lead) of f = Σ G ⊙ list(x) for a list on an image [h, w, c]. */
  function checkImageList(what: string, list: unknown[], image: [number, number, number], seed = 5, opts: { sub?: number } = {}) {
    const spec = imageSpec(list, image, B);
    const layers = layersOf(spec);
    const lead = layers[0];
    // block 1 (the walker's block index in layerListCheck): the lead's params from the same draws
    const p1 = drawLinear(spec, seed, 1);
    for (let i = 0; i < p1.b.length; i++) p1.b[i] = 0.1 * (i + 1);
    const params = [p1, p1];
    const [h, w, c] = image;
    const x = randn(B * h * w * c, seed, 1.1);
    const probe = layerListCheck(spec, layers, x, new Float64Array(0).fill(0), { params, shape: { h, w, c } });
    const G = randn(probe.out.length, seed + 100);
    const run = () => layerListCheck(spec, layers, x, G, { params, shape: { h, w, c } });
    const evalF = (): Eval => {
      const out = run().out;
      let f = 0;
      let F = 0;
      for (let t = 0; t < out.length; t++) {
        f += G[t] * out[t];
        F += Math.abs(G[t] * out[t]);
      }
      return { f, F };
    };
    const r = run();
    // rounding chain: f sums out.length terms; a conv K terms; a BatchNorm2d B·H·W per channel; a few more
    const chain = probe.out.length + 9 * c * 8 + 4 * B * h * w + 40;
    const every = opts.sub ?? 1;
    const pick = (len: number) => Array.from({ length: len }, (_, i) => i).filter((i) => i % every === 0);
    fdCheck(`${what}: ∂f/∂x`, x, evalF, r.dx!, chain, pick(x.length));
    if (lead.kind === 'conv2d' || lead.kind === 'resblock') {
      expect(r.dW, `${what}: the lead's ∂f/∂W`).not.toBeNull();
      fdCheck(`${what}: ∂f/∂W`, p1.W, evalF, r.dW!, chain, pick(p1.W.length));
    }
  }

  it('conv2d: k = 3 same, stride 1, with a bias', () => {
    checkImageList('conv2d', [{ kind: 'conv2d', channels: 3, kernel: 3, sigmaB2: 0.1 }], [4, 4, 2]);
  });
  it('conv2d: k = 3, stride 2, padding 1; k = 2, padding 0', () => {
    checkImageList('conv2d /2', [{ kind: 'conv2d', channels: 2, kernel: 3, stride: 2, padding: 1 }], [5, 5, 2]);
    checkImageList('conv2d k2', [{ kind: 'conv2d', channels: 2, kernel: 2, padding: 0 }], [4, 3, 2]);
  });
  it('batchnorm on an image (BatchNorm2d), alone and fused with tanh, γ = 1.3, β = 0.2, ε = 10⁻³', () => {
    const conv = { kind: 'conv2d', channels: 3, kernel: 3 };
    checkImageList('conv→BN2d', [conv, { kind: 'batchnorm', gamma: 1.3, beta: 0.2, eps: 1e-3 }], [4, 4, 2]);
    checkImageList(
      'conv→BN2d→tanh',
      [conv, { kind: 'batchnorm', gamma: 1.3, beta: 0.2, eps: 1e-3 }, { kind: 'act', activation: 'tanh' }],
      [4, 4, 2],
    );
  });
  it('layernorm and rmsnorm on an image: per sample over channels and positions', () => {
    const conv = { kind: 'conv2d', channels: 3, kernel: 3 };
    checkImageList(
      'conv→LN→tanh',
      [conv, { kind: 'layernorm', gamma: 1.3, beta: 0.2, eps: 1e-3 }, { kind: 'act', activation: 'tanh' }],
      [3, 3, 2],
    );
    checkImageList('conv→RMSNorm', [conv, { kind: 'rmsnorm', gamma: 0.9, eps: 1e-3 }], [3, 3, 2]);
  });
  it('gap and flatten', () => {
    const conv = { kind: 'conv2d', channels: 3, kernel: 3 };
    checkImageList('conv→tanh→gap', [conv, { kind: 'act', activation: 'tanh' }, { kind: 'gap' }], [3, 4, 2]);
    checkImageList('conv→tanh→flatten', [conv, { kind: 'act', activation: 'tanh' }, { kind: 'flatten' }], [3, 3, 2]);
  });
  it('resblock: identity shortcut and 1×1 projection (stride 2, more channels), tanh', () => {
    const rb = { kind: 'resblock', gamma: 1.2, beta: 0.1, eps: 1e-3, activation: 'tanh' };
    checkImageList('resblock identity', [{ ...rb, channels: 2 }], [4, 4, 2], 5, { sub: 2 });
    checkImageList('resblock projection', [{ ...rb, channels: 3, stride: 2 }], [5, 5, 2], 6, { sub: 2 });
  });
  it('a whole conv-bn-act net, its gradients against differences of its loss in h_1 (perturb hook)', () => {
    const spec = makeSpec({ order: 'conv-bn-act', depth: 3, width: 3, batch: 3, image: [4, 4, 3], activation: 'tanh' });
    const st = forwardBackward(spec, 9, { keepGradients: true, loss: 'mse' });
    const dh1 = st.gradients!.dh[0];
    const t = 7;
    const lossAt = (d: number) =>
      forwardBackward(spec, 9, {
        loss: 'mse',
        perturb: (l, h) => {
          if (l === 1) h[t] += d;
        },
      }).loss;
    const hh = 1e-5;
    const fd = (lossAt(hh) - lossAt(-hh)) / (2 * hh);
    // truncation h²·|f‴|/6 and round-off ~ chain·u·|L|/h: with |L| ~ 1, 10⁻⁹ covers both by orders of magnitude
    expect(Math.abs(fd - dh1[t])).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(dh1[t])));
    expect(Math.abs(dh1[t])).toBeGreaterThan(1e-6);
  });
});

describe('BatchNorm2d statistics and the 1×1 conv net as an MLP', () => {
  it('the BN output of an image has mean β and variance γ²·v/(v + ε) per channel over batch and positions', () => {
    const [B, h, w, C] = [3, 4, 5, 3];
    const list = [
      { kind: 'conv2d', channels: C, kernel: 3 },
      { kind: 'batchnorm', gamma: 1.5, beta: -0.4, eps: 0.01 },
    ];
    const spec = imageSpec(list, [h, w, 2], B);
    const layers = layersOf(spec);
    const p = drawLinear(spec, 3, 1);
    const x = randn(B * h * w * 2, 3);
    const conv = layerListCheck(spec, layers.slice(0, 1), x, new Float64Array(B * h * w * C), {
      params: [p, p],
      shape: { h, w, c: 2 },
    }).out;
    const out = layerListCheck(spec, layers, x, new Float64Array(B * h * w * C), { params: [p, p], shape: { h, w, c: 2 } }).out;
    const N = B * h * w;
    for (let c = 0; c < C; c++) {
      let m = 0;
      let mv = 0;
      for (let i = 0; i < N; i++) {
        m += out[i * C + c];
        mv += conv[i * C + c];
      }
      m /= N;
      mv /= N;
      let q = 0;
      let v = 0;
      for (let i = 0; i < N; i++) {
        q += (out[i * C + c] - m) ** 2;
        v += (conv[i * C + c] - mv) ** 2;
      }
      q /= N;
      v /= N;
      // sums of N terms: round-off ≲ N·u relative; 10⁻¹² is above it for N = 60 by 100×
      expect(m).toBeCloseTo(-0.4, 12);
      expect(Math.abs(q - (1.5 ** 2 * v) / (v + 0.01))).toBeLessThan(1e-12);
    }
    // and not per (position, channel) unit over the batch alone: those variances differ from it
    let spread = 0;
    for (let u = 0; u < h * w * C; u++) {
      let m = 0;
      for (let b = 0; b < B; b++) m += out[b * h * w * C + u];
      spread = Math.max(spread, Math.abs(m / B + 0.4));
    }
    expect(spread).toBeGreaterThan(0.05);
  });

  it('a 1×1 conv-bn-act net is the MLP linear-bn-act with batch B·H·W on the same weights and inputs', () => {
    const [B, H, C, L] = [2, 3, 6, 4];
    const cnn = makeSpec({ order: 'conv-bn-act', depth: L, width: C, batch: B, image: [H, H, C], conv: { kernel: 1 } });
    const mlp = makeSpec({ order: 'linear-bn-act', depth: L, width: C, batch: B * H * H });
    // the same streams: drawConv's gaussian with k = 1 is drawLinear's C × C
    const pc = Array.from({ length: L }, (_, l) => drawLinear(cnn, 4, l + 1));
    const pm = Array.from({ length: L }, (_, l) => drawLinear(mlp, 4, l + 1));
    for (let l = 0; l < L; l++) expect(pc[l].W).toEqual(pm[l].W);
    const x = randn(B * H * H * C, 8);
    const a = forwardBackward(cnn, 4, { inputs: x, loss: 'mse' });
    const b = forwardBackward(mlp, 4, { inputs: x, loss: 'mse' });
    for (let l = 0; l < L; l++) {
      // the same sums in the same order, up to the conv's im2col copy: equal to a few ulps
      expect(Math.abs(a.preactVar[l] - b.preactVar[l])).toBeLessThan(1e-13 * b.preactVar[l]);
      expect(Math.abs(a.postactMean[l] - b.postactMean[l])).toBeLessThan(1e-13);
      expect(Math.abs(a.postactVar[l] - b.postactVar[l])).toBeLessThan(1e-12 * b.postactVar[l]);
    }
  });
});

describe('conv inits', () => {
  it('gaussian, orthogonal and delta-orthogonal: entry variance σ_w²/(k²C_in) (σ_w²/C_in at the centre for delta), orthogonality', () => {
    const [cOut, cIn, k, s2] = [16, 8, 3, 2];
    const nIn = k * k * cIn;
    for (const init of ['gaussian', 'orthogonal'] as const) {
      const W = drawConv(init, cOut, cIn, k, s2, normalStream(1, init));
      const m2 = W.reduce((a, v) => a + v * v, 0) / W.length;
      // gaussian: the mean of 1152 squares has relative sd √(2/1152) = 4.2%; 5 sd. orthogonal: exact (cOut < nIn: rows orthonormal)
      const tol = init === 'gaussian' ? 5 * Math.sqrt(2 / W.length) : 1e-12;
      expect(Math.abs(m2 / (s2 / nIn) - 1)).toBeLessThan(tol);
    }
    const W = drawConv('orthogonal', cOut, cIn, k, s2, normalStream(2, 'o'));
    // rows orthogonal with squared norm σ_w²·nIn/nIn... = σ_w² (cOut ≤ nIn): W Wᵀ = σ_w² I
    for (let i = 0; i < cOut; i++)
      for (let j = 0; j < cOut; j++) {
        let d = 0;
        for (let t = 0; t < nIn; t++) d += W[i * nIn + t] * W[j * nIn + t];
        expect(Math.abs(d - (i === j ? s2 : 0))).toBeLessThan(1e-12);
      }
    const D = drawConv('delta-orthogonal', cIn, cIn, k, s2, normalStream(3, 'd'));
    const centre = (k * k - 1) / 2;
    for (let o = 0; o < cIn; o++) for (let t = 0; t < nIn; t++) if (Math.floor(t / cIn) !== centre) expect(D[o * nIn + t]).toBe(0);
    // the centre tap is σ_w·(an orthogonal matrix): ‖W x‖² = σ_w²‖x‖² for a delta input
    for (let i = 0; i < cIn; i++) {
      let d = 0;
      for (let c = 0; c < cIn; c++) d += D[i * nIn + centre * cIn + c] ** 2;
      expect(Math.abs(d - s2)).toBeLessThan(1e-12);
    }
  });
});

describe('shapes and errors', () => {
  it('an image kind on a flat input, a dense on an image, and a list without image are refused naming the layer', () => {
    expect(() => makeSpec({ layers: [{ kind: 'dense', width: 4 }, { kind: 'gap' }], inputDim: 4 })).toThrow(/layers\[1\]\.kind/);
    expect(() =>
      makeSpec({
        layers: [
          { kind: 'conv2d', channels: 2 },
          { kind: 'dense', width: 3 },
        ],
        image: [4, 4, 1],
      }),
    ).toThrow(/layers\[1\]\.kind.*gap or flatten/);
    expect(() => makeSpec({ layers: [{ kind: 'conv2d', channels: 2 }] })).toThrow(/image/);
    expect(() => makeSpec({ layers: [{ kind: 'conv2d', channels: 2, kernel: 4 }], image: [4, 4, 1] })).toThrow(/padding/);
  });
  it('every image kind is in the sampler table', () => {
    for (const k of ['conv2d', 'gap', 'flatten', 'resblock'] as const) expect(typeof SAMPLE_LAYERS[k].forward).toBe('function');
  });
});

describe('image nets: checkpointed and kept caches agree bit for bit', () => {
  for (const order of ['conv-bn-act', 'vgg', 'resnet'] as const) {
    it(order, () => {
      const spec = makeSpec({ order, depth: 6, width: 3, batch: 2, image: [6, 6, 3], activation: 'tanh' });
      const full = forwardBackward(spec, 4);
      const ckpt = forwardBackward(spec, 4, { memoryBudgetBytes: 20000 });
      for (const k of ['preactVar', 'postactMean', 'postactVar', 'corr', 'logGradHSq', 'logGradWSq', 'bnRetained'] as const)
        expect(Array.from(ckpt[k]), k).toEqual(Array.from(full[k]));
    });
  }
});
