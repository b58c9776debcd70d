// The explorer's URL state: every state round-trips through its query string, defaults stay out of a link,
// and a bad value in a link falls back to its default with a line naming the parameter, value and what is allowed.
import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_STATE,
  decodeState,
  DYNAMICS,
  encodeState,
  type ExploreState,
  INIT_KINDS,
  URL_KEYS,
} from '../../src/explore/page/state.js';
import { DEFAULT_SPEC, PRESET_NAMES } from '../../src/network/index.js';

const finitePos = fc.double({ min: 1e-6, max: 1e3, noNaN: true, noDefaultInfinity: true });
const state = fc.record<ExploreState>({
  order: fc.constantFrom(...PRESET_NAMES),
  activation: fc.constantFrom('relu', 'tanh', 'leaky-relu:0.2', 'expr:x*tanh(x)', 'elu:0.7', 'gelu'),
  depth: fc.integer({ min: 1, max: 100000 }),
  width: fc.integer({ min: 1, max: 65536 }),
  batch: fc.option(fc.integer({ min: 2, max: 1_000_000 }), { nil: null }),
  sigmaW2: finitePos,
  sigmaB2: fc.oneof(fc.constant(0), finitePos),
  gamma: fc.double({ min: -10, max: 10, noNaN: true }).filter((g) => g !== 0),
  beta: fc.double({ min: -10, max: 10, noNaN: true }),
  eps: fc.oneof(fc.constant(0), finitePos),
  residual: fc.option(finitePos, { nil: null }),
  init: fc.constantFrom(...INIT_KINDS),
  dynamics: fc.constantFrom(...DYNAMICS),
});

describe('URL state', () => {
  fcTest.prop([state])('decode(encode(s)) is s, with no problems', (s) => {
    const d = decodeState(`?${encodeState(s)}`);
    expect(d.problems).toEqual([]);
    // -0 is written "0": the link carries the value, not the sign of a zero
    expect(d.state).toEqual({ ...s, beta: Object.is(s.beta, -0) ? 0 : s.beta });
  });

  fcTest.prop([state, fc.constantFrom(...(Object.keys(URL_KEYS) as (keyof ExploreState)[]))])(
    'a field at its default is left out of the link; any other is in it',
    (s, key) => {
      const one = { ...DEFAULT_STATE, [key]: s[key] };
      const q = new URLSearchParams(encodeState(one));
      expect(q.has(URL_KEYS[key])).toBe(!Object.is(s[key], DEFAULT_STATE[key]));
    },
  );

  test('the defaults are the network room’s DEFAULT_SPEC, and encode to an empty query', () => {
    expect(DEFAULT_STATE).toMatchObject({
      order: DEFAULT_SPEC.order,
      depth: DEFAULT_SPEC.depth,
      batch: DEFAULT_SPEC.batch,
      sigmaW2: DEFAULT_SPEC.init.sigmaW2,
      eps: DEFAULT_SPEC.bn.eps,
    });
    expect(encodeState(DEFAULT_STATE)).toBe('');
  });

  test.each([
    ['B=3.5', 'B', '"3.5"', 'an integer from 2'],
    ['B=1', 'B', '"1"', 'or inf'],
    ['depth=0x10', 'depth', '"0x10"', 'from 1 to 100000'],
    ['sw2=-1', 'sw2', '"-1"', '> 0'],
    ['gamma=0', 'gamma', '"0"', '!= 0'],
    ['order=linear-foo', 'order', '"linear-foo"', 'linear-bn-act'],
    ['res=0', 'res', '"0"', 'or none'],
    ['dyn=always', 'dyn', '"always"', 'auto | never'],
    ['sigma=2', 'sigma', 'unknown parameter', 'sw2'],
  ])('%s falls back to the default with one line naming it', (query, name, value, allowed) => {
    const d = decodeState(query);
    expect(d.state).toEqual(DEFAULT_STATE);
    expect(d.problems).toHaveLength(1);
    expect(d.problems[0]).toContain(name);
    expect(d.problems[0]).toContain(value);
    expect(d.problems[0]).toContain(allowed);
  });

  test('records= parameters are kept, in order, and are not state', () => {
    const d = decodeState('?records=a.jsonl&B=inf&records=run%2F1');
    expect(d.records).toEqual(['a.jsonl', 'run/1']);
    expect(d.state).toEqual({ ...DEFAULT_STATE, batch: null });
  });
});
