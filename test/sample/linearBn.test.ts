// Linear BN (Linear → BN → identity) sampled with a real top gradient: the per-sample projection loss,
// sampleNetwork's default here because the readout loss is constant (test/sample/degenerate.test.ts).
// The mean-field rate of ‖∂L/∂h‖² per layer is (B−2)/(B−3) (theory-notes P4). Tolerance: 3 standard
// errors over seeds (Z_SEEDS) plus the finite-width band linearBnBand(N) = 0.7%·√(512/N) of claim 2, which bounds the
// measured finite-width departure (docs/sampling.md, finite-size study: largest where the batch Gram is
// stationary, depth 80: 0.51 ± 0.08% below at N = 512, 0.31 ± 0.08% at N = 1024). The power check: the standard error
// resolves the band, and band + 3 se is smaller than the first-order Gaussian-independence (GIA)
// correction (B−2)/(B−3)·B/(2N) (theory audit, claim 2), which true backprop does not show, and than the
// readout loss's bias (B = 32: −1.8% at N = 512, −0.5% at N = 2048, audit), so either would fail this test.
import { beforeAll, describe, expect, it } from 'vitest';
import { claim2Verdicts, linearBnBand } from '../../analysis/claim2-batch.js';
import { makeSpec } from '../../src/network/index.js';
import { forwardBackward, growthEstimate, interiorLayers, type LayerStats } from '../../src/sample/index.js';
import { defaultLoss } from '../../src/sample/network.js';
import { fastGaussianNetwork } from './fastDraws.js';
import { expectAgrees, expectResolves } from '../helpers/agreement.js';

const DEPTH = 40;
const WIDTH = 1024;
const BATCHES = [32, 64] as const;
// per-seed sd of the growth ≈ 0.0022 (B = 32) and 0.001 (B = 64) at this size: 8 seeds give 3 se ≈ 0.23%
// and 0.1%, below the 0.49% band
const SEEDS = 8;
// Standard errors allowed on top of the band (expectAgrees, the rule of compare and reproduce), above the default
// AGREEMENT_Z = 2: the SE is over 8 seeds, so (growth − λ)/se is t with 7 degrees of freedom, whose two-sided tail
// is 2.0% at 3 (4% for the 2 checks here) but 8.6% at 2 (16% for both).
const Z_SEEDS = 3;

const results: Record<number, LayerStats[]> = { 32: [], 64: [] };
beforeAll(() => {
  const specs = BATCHES.map((B) => makeSpec({ depth: DEPTH, width: WIDTH, batch: B, activation: 'identity' }));
  for (let k = 1; k <= SEEDS; k++) {
    const params = fastGaussianNetwork(specs[0], 500 + k); // one network per seed, for both batch sizes
    specs.forEach((spec, i) => {
      results[BATCHES[i]].push(forwardBackward(spec, k, { params }));
    });
  }
});

describe(`linear BN, width ${WIDTH}, depth ${DEPTH}, ${SEEDS} seeds: (B−2)/(B−3)`, () => {
  for (const B of BATCHES) {
    it(`B = ${B}: within the finite-width band + ${Z_SEEDS} se of (B−2)/(B−3) = ${((B - 2) / (B - 3)).toFixed(4)}`, () => {
      const all = results[B];
      expect(all.every((s) => s.lossKind === 'projection')).toBe(true);
      expect(defaultLoss(makeSpec({ depth: DEPTH, width: WIDTH, batch: B, activation: 'identity' }))).toBe('projection');
      const { growth, se } = growthEstimate(all, interiorLayers(DEPTH));
      const lambda = (B - 2) / (B - 3);
      const opts = { relTol: linearBnBand(WIDTH), se, z: Z_SEEDS }; // the band linearBnBand(N)·λ, plus z·se
      expect(B).toBeLessThanOrEqual(WIDTH / 4); // where the band holds
      expectResolves(opts, lambda); // enough seeds to resolve the band
      const a = expectAgrees(lambda, growth, opts, 'sampled growth');
      const gia = (lambda * B) / (2 * WIDTH); // 1.6% (B = 32), 3.1% (B = 64)
      expect(a.tolerance + a.band).toBeLessThan(gia); // a GIA-sized departure would fail
      // so would the readout's: 1.8% (B = 32) and 2.6% (B = 64) below at N = 512, 0.5% and 0.9% at N = 2048,
      // so ≈ 0.9% or more at N = 1024 if it falls as fast as 1/N
      expect(a.tolerance + a.band).toBeLessThan(0.0085 * lambda);
      // claim 2 judges the same numbers at the same band (2 se there): it agrees
      expect(claim2Verdicts([{ act: 'identity', B, lam: lambda, measured: growth, se }], WIDTH, 1.4674)[0].verdict).toBe('agrees');
    });
  }

  it('the gradient at the top is real: BN keeps about (B−2)/B of it in the top block', () => {
    for (const B of BATCHES) {
      for (const s of results[B]) {
        // a Beta((B−2)/2, 1) fraction per unit, averaged over 1024 units: sd ≈ 0.06/√512 < 0.003
        expect(Math.abs(s.bnRetained[DEPTH - 1] - (B - 2) / B)).toBeLessThan(0.015);
      }
    }
  });
});
