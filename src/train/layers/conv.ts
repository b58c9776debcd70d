// The image kinds (conv2d, gap, flatten, resblock) in the trainer's table: not trained yet. The trainer's
// model (model.ts) walks 2-D activations (B × units) and its build context carries a width, not an image
// shape; the sampler (src/sample/layers/conv.ts, resblock.ts) runs these kinds in float64. `unsupported` is
// read by checkSupported (network/support.ts), so `signalprop train` refuses an image net with this reason.
import type { TrainLayer } from './types.js';

const WHY = 'the trainer has no convolutional layers yet (its model walks B × units activations); sample and predict run them';

function refuse(): never {
  throw new Error(`train: ${WHY}`);
}

const entry = <K extends 'conv2d' | 'gap' | 'flatten' | 'resblock'>(): TrainLayer<K> => ({
  unsupported: WHY,
  build: () => refuse(),
  forward: () => refuse(),
});

export const conv2d = entry<'conv2d'>();
export const gap = entry<'gap'>();
export const flatten = entry<'flatten'>();
export const resblock = entry<'resblock'>();
