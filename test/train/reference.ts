// A float64 forward/backward of a layer list, independent of the trainer's tfjs code, for the tests: each
// layer's forward returns its output and a closure that maps ∂L/∂out to ∂L/∂in (accumulating its
// parameters' gradients), written from the definitions in src/network/layers.ts. Parameters are taken in
// the Mlp's order (block by block, each layer's in list order: dense K = Wᵀ (fan_in × width) and b;
// batchnorm and layernorm γ, β; rmsnorm γ; then the readout K and b), so a test can hand it the trained
// net's own float32 parameters and compare gradients one for one.
import {
  activationOfLayer,
  blocksOf,
  DEFAULT_RNG,
  denseLayers,
  drawLinear,
  drawReadout,
  type Layer,
  type LossTargets,
  layersOf,
  lossAndGrad,
  type NetworkSpec,
} from '../../src/network/index.js';

export interface Forward64 {
  loss: number;
  /** ∂L/∂(each parameter), same order and layout as the parameters. */
  grads: Float64Array[];
  /** ∂L/∂h_l, the dense output of block l (B × n_l). */
  dh: Float64Array[];
}

/** Hooks for finite differences: perturb block l's dense output h (1..depth) before the rest of the forward. */
export interface Forward64Options {
  perturbH?: (block: number, h: Float64Array) => void;
  /** Skip the backward (finite differences need the loss only). */
  lossOnly?: boolean;
}

type Back = (d: Float64Array) => Float64Array;

/** L(θ) of the list on inputs x (B × inputDim), and its gradients by the backward closures. */
export function forward64(
  layers: readonly Layer[],
  params: readonly Float64Array[],
  x: Float64Array,
  B: number,
  t: LossTargets,
  opts: Forward64Options = {},
): Forward64 {
  const grads = params.map((p) => new Float64Array(p.length));
  const blocks = blocksOf(layers);
  const dh: Float64Array[] = new Array(blocks.length);
  let next = 0;
  const take = () => next++;
  let n = x.length / B;

  const one = (l: Layer, v: Float64Array, block: number): { out: Float64Array; back: Back } => {
    const m = n; // input width
    if (l.kind === 'dense') {
      const iK = take();
      const ib = take();
      const K = params[iK];
      const b = params[ib];
      const w = l.width;
      const h = new Float64Array(B * w);
      for (let i = 0; i < B; i++)
        for (let o = 0; o < w; o++) {
          let s = b[o];
          for (let j = 0; j < m; j++) s += v[i * m + j] * K[j * w + o];
          h[i * w + o] = s;
        }
      opts.perturbH?.(block, h);
      n = w;
      return {
        out: h,
        back: (d) => {
          dh[block - 1] = d;
          const dx = new Float64Array(B * m);
          for (let i = 0; i < B; i++)
            for (let o = 0; o < w; o++) {
              const g = d[i * w + o];
              grads[ib][o] += g;
              for (let j = 0; j < m; j++) {
                grads[iK][j * w + o] += v[i * m + j] * g;
                dx[i * m + j] += g * K[j * w + o];
              }
            }
          return dx;
        },
      };
    }
    if (l.kind === 'act') {
      const a = activationOfLayer(l);
      return { out: v.map(a.phi), back: (d) => d.map((g, k) => g * a.dphi(v[k])) };
    }
    if (l.kind === 'residual') {
      const inner = list(l.layers, v, block);
      const s = l.scale;
      n = m;
      return { out: v.map((xv, k) => xv + s * inner.out[k]), back: (d) => inner.back(d.map((g) => s * g)).map((g, k) => g + d[k]) };
    }
    if (l.kind === 'conv2d' || l.kind === 'gap' || l.kind === 'flatten' || l.kind === 'resblock')
      throw new Error(`reference: no ${l.kind} (the trainer has no image layers)`);
    // the norms: statistics over the batch (per unit) for batchnorm, over the units (per sample) otherwise
    const iG = take();
    const iB = l.kind === 'rmsnorm' ? -1 : take();
    const gamma = params[iG];
    const beta = iB >= 0 ? params[iB] : null;
    const centre = l.kind !== 'rmsnorm';
    const perUnit = l.kind === 'batchnorm';
    const groups = perUnit ? m : B; // one statistic per group, over `size` members
    const size = perUnit ? B : m;
    const at = (g: number, k: number) => (perUnit ? k * m + g : g * m + k);
    const zhat = new Float64Array(B * m);
    const inv = new Float64Array(groups);
    for (let g = 0; g < groups; g++) {
      let mu = 0;
      if (centre) {
        for (let k = 0; k < size; k++) mu += v[at(g, k)];
        mu /= size;
      }
      let q = 0;
      for (let k = 0; k < size; k++) q += (v[at(g, k)] - mu) ** 2;
      inv[g] = 1 / Math.sqrt(q / size + l.eps);
      for (let k = 0; k < size; k++) zhat[at(g, k)] = (v[at(g, k)] - mu) * inv[g];
    }
    const out = zhat.map((z, k) => gamma[k % m] * z + (beta ? beta[k % m] : 0));
    return {
      out,
      back: (d) => {
        for (let k = 0; k < B * m; k++) {
          grads[iG][k % m] += d[k] * zhat[k];
          if (beta) grads[iB][k % m] += d[k];
        }
        // dv = (dẑ − mean dẑ − ẑ·mean(dẑ·ẑ))·inv over each group (no mean term without centring)
        const dv = new Float64Array(B * m);
        for (let g = 0; g < groups; g++) {
          let m1 = 0;
          let m2 = 0;
          for (let k = 0; k < size; k++) {
            const dz = gamma[at(g, k) % m] * d[at(g, k)];
            m1 += dz / size;
            m2 += (dz * zhat[at(g, k)]) / size;
          }
          if (!centre) m1 = 0;
          for (let k = 0; k < size; k++) dv[at(g, k)] = (gamma[at(g, k) % m] * d[at(g, k)] - m1 - zhat[at(g, k)] * m2) * inv[g];
        }
        return dv;
      },
    };
  };

  const list = (ls: readonly Layer[], v: Float64Array, block: number): { out: Float64Array; back: Back } => {
    const backs: Back[] = [];
    let cur = v;
    for (const l of ls) {
      const r = one(l, cur, block);
      backs.push(r.back);
      cur = r.out;
    }
    return {
      out: cur,
      back: (d) => {
        let g = d;
        for (let i = backs.length - 1; i >= 0; i--) g = backs[i](g);
        return g;
      },
    };
  };

  const backs: Back[] = [];
  let cur = x;
  blocks.forEach((b, i) => {
    const r = list(b, cur, i + 1);
    backs.push(r.back);
    cur = r.out;
  });
  const iR = take();
  const ir = take();
  const nL = n;
  const y = new Float64Array(B * t.nOut);
  for (let i = 0; i < B; i++)
    for (let k = 0; k < t.nOut; k++) {
      let s = params[ir][k];
      for (let j = 0; j < nL; j++) s += cur[i * nL + j] * params[iR][j * t.nOut + k];
      y[i * t.nOut + k] = s;
    }
  const { loss, dy } = lossAndGrad(y, B, t);
  if (next !== params.length) throw new Error(`the list takes ${next} parameters, ${params.length} given`);
  if (opts.lossOnly) return { loss, grads, dh };
  let g: Float64Array = new Float64Array(B * nL);
  for (let i = 0; i < B; i++)
    for (let k = 0; k < t.nOut; k++) {
      const e = dy[i * t.nOut + k];
      grads[ir][k] += e;
      for (let j = 0; j < nL; j++) {
        grads[iR][j * t.nOut + k] += cur[i * nL + j] * e;
        g[i * nL + j] += e * params[iR][j * t.nOut + k];
      }
    }
  for (let i = backs.length - 1; i >= 0; i--) g = backs[i](g);
  return { loss, grads, dh };
}

/** The parameters of a spec's net at init in the Mlp's order, in float64: the draws unrounded, the norms' γ, β. */
export function initParams64(spec: NetworkSpec, seed: number, nOut: number): Float64Array[] {
  // each dense layer drawn with its own init (drawLinear's streams: for presets, drawNetwork's numbers)
  const draws = denseLayers(layersOf(spec)).map((d, i) =>
    drawLinear({ ...spec, init: { kind: d.init, sigmaW2: d.sigmaW2, sigmaB2: d.sigmaB2 } }, seed, i + 1, { rng: DEFAULT_RNG }),
  );
  const out: Float64Array[] = [];
  let width = spec.inputDim;
  const add = (l: Layer, block: number): void => {
    if (l.kind === 'dense') {
      const d = draws[block - 1];
      const K = new Float64Array(d.nIn * d.nOut);
      for (let o = 0; o < d.nOut; o++) for (let j = 0; j < d.nIn; j++) K[j * d.nOut + o] = d.W[o * d.nIn + j];
      out.push(K, Float64Array.from(d.b));
      width = l.width;
    } else if (l.kind === 'batchnorm' || l.kind === 'layernorm')
      out.push(new Float64Array(width).fill(l.gamma), new Float64Array(width).fill(l.beta));
    else if (l.kind === 'rmsnorm') out.push(new Float64Array(width).fill(l.gamma));
    else if (l.kind === 'residual') for (const x of l.layers) add(x, block);
  };
  blocksOf(layersOf(spec)).forEach((b, i) => {
    for (const l of b) add(l, i + 1);
  });
  const R = drawReadout(width, nOut, seed, { rng: DEFAULT_RNG });
  const K = new Float64Array(width * nOut);
  for (let k = 0; k < nOut; k++) for (let j = 0; j < width; j++) K[j * nOut + k] = R[k * width + j];
  out.push(K, new Float64Array(nOut));
  return out;
}

export interface Reference {
  loss: number;
  /** ‖∂L/∂h_l‖², l = 1..L */
  gradHSq: number[];
  /** ‖∂L/∂W_l‖² */
  gradWSq: number[];
  /** ‖∂L/∂R‖² of the readout */
  gradReadoutSq: number;
}

const sq = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);

/** Step 0 of a spec's net in float64: the same draws as the trainer (drawNetwork, drawReadout with DEFAULT_RNG) and the shared loss. */
export function reference64(spec: NetworkSpec, seed: number, x: Float64Array, B: number, t: LossTargets): Reference {
  const params = initParams64(spec, seed, t.nOut);
  const r = forward64(layersOf(spec), params, x, B, t);
  // the dense kernels in parameter order: block l's is the first 2-D parameter after block l−1's
  const kernels: number[] = [];
  let i = 0;
  const walk = (l: Layer): void => {
    if (l.kind === 'dense') {
      kernels.push(i);
      i += 2;
    } else if (l.kind === 'batchnorm' || l.kind === 'layernorm') i += 2;
    else if (l.kind === 'rmsnorm') i += 1;
    else if (l.kind === 'residual') l.layers.forEach(walk);
  };
  layersOf(spec).forEach(walk);
  return { loss: r.loss, gradHSq: r.dh.map(sq), gradWSq: kernels.map((k) => sq(r.grads[k])), gradReadoutSq: sq(r.grads[i]) };
}

/** max |a − b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}
