// The sampler's table of float64 layer kernels, keyed by LayerKind (src/network/layers.ts): a kind
// missing here is a compile error. The walker (Net in ../network.ts) runs layersOf(spec) block by block
// through it, with the fusion rules of fused.ts.
import { act } from './act.js';
import { batchnorm } from './batchnorm.js';
import { conv2d } from './conv.js';
import { dense } from './dense.js';
import { groupnorm } from './groupnorm.js';
import { layernorm } from './layernorm.js';
import { flatten, gap } from './pool.js';
import { resblock } from './resblock.js';
import { residual } from './residual.js';
import { rmsnorm } from './rmsnorm.js';
import type { SampleLayerTable } from './types.js';

export const SAMPLE_LAYERS = {
  dense,
  batchnorm,
  layernorm,
  rmsnorm,
  groupnorm,
  act,
  residual,
  conv2d,
  gap,
  flatten,
  resblock,
} satisfies SampleLayerTable;

export { col2im, convForward, convGeom, convGradW, convGradX, im2col, type ConvGeom } from './conv.js';

export { actOf, applyPhi, mulDphi, type Act } from './act.js';
export { bnNormalize, bnProject } from './batchnorm.js';
export { gramOf, symDot } from './dense.js';
export { bnAct, FUSIONS, type FusedStep } from './fused.js';
export { gnNormalize, gnProject, type GroupNormCache } from './groupnorm.js';
export { lnNormalize, lnProject } from './layernorm.js';
export { rmsNormalize, rmsProject } from './rmsnorm.js';
export * from './types.js';
