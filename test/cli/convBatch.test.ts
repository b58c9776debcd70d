// The theory-batch rule of the CLI's spec flags: an MLP BatchNorm net's theory needs B >= 4 (1/(B−3) in its
// rate), but an image net's BatchNorm2d pools B·H·W values per channel, so its conv theory runs from B = 2
// (claim 9 predicts at B = 2); predict --order vgg --batch 2 used to exit 2 with the MLP's rule.
import { describe, expect, it } from 'vitest';
import { specFromFlags } from '../../src/cli/specFlags.js';

describe('--batch for theory', () => {
  it('an image net takes B = 2; an MLP BatchNorm net still needs B >= 4', () => {
    const s = specFromFlags({ order: 'vgg', depth: '6', channels: '8', image: '8,8,8', batch: '2' }, {}, { theoryBatch: true });
    expect(s.batch).toBe(2);
    expect(() => specFromFlags({ order: 'linear-bn-act', depth: '6', batch: '2' }, {}, { theoryBatch: true })).toThrow(
      /--batch: "2".*>= 4/,
    );
  });
});
