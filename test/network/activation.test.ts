// Every entry of the activation table, at its default argument and at its example arguments, is
// checked here against independent evidence: φ′ against central differences of φ, the listed kinks
// against where φ′ (or φ″) actually jumps, the piecewise-linear family against φ. A new entry is
// picked up by these loops with no new test.
import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_FORMS,
  ACTIVATION_NAMES,
  ActivationError,
  activationEntry,
  activationHelp,
  makeActivation,
  makeSpec,
  parseActivation,
  SpecError,
} from '../../src/network/index.js';
import { everyActivation } from '../helpers/activations.js';

const U = 2 ** -52; // float64 unit round-off (spacing of doubles at 1)

/** Grid of test points on [−8, 8], off the kinks (offset so 0 is not on it), plus points near 0. */
const GRID = [...Array.from({ length: 161 }, (_, i) => -8 + 0.1 * i + 0.0137), -1e-3, 1e-3, -0.05, 0.05];

/**
 * φ′(x) against the central difference of φ. Tolerance (derived, per point): truncation, estimated
 * by Richardson from the difference at h and 2h (|D(2h) − D(h)| ≈ 3·|error of D(h)|, ×2 for margin),
 * plus round-off: φ is a handful of float64 operations on values of size ≤ max(1, |x|, |φ|), so it
 * is within 8u of that size (an absolute, not a relative, accuracy: GELU's 1 + erf(x/√2) cancels
 * for x ≪ 0), which gives ≤ 8u·size/h in D(h). Returns the worst excess (≤ 0 passes) and where.
 */
function derivativeExcess(phi: (x: number) => number, dphi: (x: number) => number, kinks: readonly number[]) {
  let worst = { excess: Number.NEGATIVE_INFINITY, x: Number.NaN, got: Number.NaN, want: Number.NaN, tol: Number.NaN };
  for (const x of GRID) {
    const h = 2 ** -17 * Math.max(1, Math.abs(x));
    if (kinks.some((k) => Math.abs(x - k) < 4 * h)) continue;
    const d1 = (phi(x + h) - phi(x - h)) / (2 * h);
    const d2 = (phi(x + 2 * h) - phi(x - 2 * h)) / (4 * h);
    const scale = Math.max(...[x + h, x - h, x + 2 * h, x - 2 * h].map((y) => Math.abs(phi(y))), Math.abs(x) + 2 * h, 1);
    const tol = 2 * Math.abs(d2 - d1) + (8 * U * scale) / h;
    const got = dphi(x);
    const excess = Math.abs(got - d1) - tol;
    if (excess > worst.excess) worst = { excess, x, got, want: d1, tol };
  }
  return worst;
}

/**
 * Whether φ is not smooth at k: φ′ jumps (one-sided values 2ε apart differ by more than 1e-6, where
 * a smooth φ′ with |φ″| ≤ 100 moves 2e-7 at ε = 1e-9) or φ″ jumps (one-sided forward differences of
 * φ′ at η = 1e-5 differ by more than 1e-3; each is within 1.5η·|φ‴| + 2u|φ′|/η < 2e-4 of φ″ for
 * |φ‴| ≤ 10).
 */
function isKink(dphi: (x: number) => number, k: number): boolean {
  const s = Math.max(1, Math.abs(k));
  const eps = 1e-9 * s;
  if (Math.abs(dphi(k + eps) - dphi(k - eps)) > 1e-6) return true;
  const eta = 1e-5 * s;
  const right = (dphi(k + 2 * eta) - dphi(k + eta)) / eta;
  const left = (dphi(k - eta) - dphi(k - 2 * eta)) / eta;
  return Math.abs(right - left) > 1e-3;
}

/**
 * Jumps of φ′ on [−10, 10] away from the listed kinks: cells of width 0.01 are bisected 20 times,
 * following the half where φ′ changes most. A smooth φ′ changes by ≤ |φ″|·w over the final width
 * w = 0.01/2²⁰ ≈ 1e-8, below 1e-4 unless |φ″| > 1e4; a jump J keeps its size. Returns the jump
 * locations found (to within w).
 */
function unlistedJumps(dphi: (x: number) => number, kinks: readonly number[]): number[] {
  const found: number[] = [];
  for (let i = 0; i < 2000; i++) {
    let a = -10 + 0.01 * i + 0.003;
    let b = a + 0.01;
    if (kinks.some((k) => k >= a - 1e-6 && k <= b + 1e-6)) continue;
    for (let it = 0; it < 20; it++) {
      const m = (a + b) / 2;
      if (Math.abs(dphi(m) - dphi(a)) >= Math.abs(dphi(b) - dphi(m))) b = m;
      else a = m;
    }
    if (Math.abs(dphi(b) - dphi(a)) > 1e-4) found.push((a + b) / 2);
  }
  return found;
}

describe('the activation table: every entry', () => {
  for (const act of everyActivation()) {
    describe(act.name, () => {
      it('φ′ equals the central difference of φ away from the kinks', () => {
        const w = derivativeExcess(act.phi, act.dphi, act.kinks ?? []);
        expect(w.excess, `at x = ${w.x}: φ′ = ${w.got}, difference quotient ${w.want}, tolerance ${w.tol}`).toBeLessThanOrEqual(0);
      });

      it('the listed kinks are where φ′ or φ″ jumps, and φ′ jumps nowhere else', () => {
        expect(act.kinks).toBeDefined();
        for (const k of act.kinks ?? []) expect(isKink(act.dphi, k), `listed kink ${k}`).toBe(true);
        expect(unlistedJumps(act.dphi, act.kinks ?? [])).toEqual([]);
        // a point that is not listed is not a kink: 0 when none is listed (where every entry's branches meet)
        if ((act.kinks ?? []).length === 0) expect(isKink(act.dphi, 0)).toBe(false);
      });

      it('the piecewise-linear family, where given, is φ exactly', () => {
        if (!act.family) return;
        const { a, b } = act.family;
        for (const x of GRID) expect(act.phi(x)).toBe(x > 0 ? b * x : a * x);
      });

      it('its name parses back to itself, and every value is finite on [−40, 40]', () => {
        const again = parseActivation(act.name);
        expect(again.name).toBe(act.name);
        expect(again.base).toBe(act.base);
        for (let x = -40; x <= 40; x += 0.5) {
          expect(Number.isFinite(act.phi(x)) && Number.isFinite(act.dphi(x)), `at x = ${x}`).toBe(true);
        }
      });
    });
  }
});

describe('the checks above can fail', () => {
  it('a φ′ off by 1e-6 (relative) fails the difference check; a missed kink and a spurious one are caught', () => {
    const tanh = makeActivation('tanh');
    expect(derivativeExcess(tanh.phi, (x) => tanh.dphi(x) * (1 + 1e-6), []).excess).toBeGreaterThan(0);
    const relu = makeActivation('relu');
    expect(unlistedJumps(relu.dphi, [])).toHaveLength(1);
    expect(Math.abs(unlistedJumps(relu.dphi, [])[0])).toBeLessThan(1e-7);
    // |x − 1.3| has a kink at 1.3 that a table listing [0] would miss; ELU's φ″ jump at 0 is found
    expect(unlistedJumps((x) => Math.sign(x - 1.3), [0])).toHaveLength(1);
    expect(isKink(tanh.dphi, 0)).toBe(false);
    expect(isKink(makeActivation('elu', 1).dphi, 0)).toBe(true);
  });
});

describe('forms, errors and help derive from the table', () => {
  it('one form per entry (with its argument), then expressions; each parses', () => {
    expect(ACTIVATION_FORMS).toHaveLength(ACTIVATION_NAMES.length + 1);
    expect(ACTIVATION_FORMS.at(-1)).toBe('expr:<expression in x>');
    for (const n of ACTIVATION_NAMES) {
      const arg = activationEntry(n).arg;
      expect(ACTIVATION_FORMS).toContain(arg ? `${n}:<${arg.name}>` : n);
      // bare name: the default argument
      expect(parseActivation(n).name).toBe(arg ? `${n}:${arg.default}` : n);
      for (const alias of activationEntry(n).aliases ?? []) expect(parseActivation(alias).base).toBe(n);
    }
  });

  it('an unknown name lists every form; a bad argument names the argument and what is allowed', () => {
    let err: unknown;
    try {
      parseActivation('swish');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ActivationError);
    expect((err as ActivationError).message).toBe(`activation: "swish" is not allowed; expected one of ${ACTIVATION_FORMS.join(', ')}`);
    for (const n of ACTIVATION_NAMES) {
      const arg = activationEntry(n).arg;
      if (arg) expect(() => parseActivation(`${n}:abc`)).toThrow(new RegExp(`"${n}:abc".*${arg.allowed} as the ${arg.name}, not "abc"`));
      else expect(() => parseActivation(`${n}:2`)).toThrow(/is not allowed; expected one of/);
    }
    // the spec's SpecError carries the same allowed text
    expect(() => makeSpec({ activation: 'swish' })).toThrow(SpecError);
    expect(() => makeSpec({ activation: 'swish' })).toThrow(ACTIVATION_FORMS.join(', '));
  });

  it('activationHelp: the forms in short; one line per form with its doc in long', () => {
    expect(activationHelp()).toBe(ACTIVATION_FORMS.join(' | '));
    const long = activationHelp({ long: true }).split('\n');
    expect(long).toHaveLength(ACTIVATION_FORMS.length);
    for (const [i, n] of ACTIVATION_NAMES.entries()) {
      expect(long[i].startsWith(`${ACTIVATION_FORMS[i]}: ${activationEntry(n).doc}`)).toBe(true);
    }
  });
});
