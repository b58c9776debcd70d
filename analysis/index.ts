// The reproduction studies, one per claim, in the order of the report.
import type { Study } from '../src/reproduce/index.js';
import { claim1 } from './claim1-explosion.js';
import { claim2 } from './claim2-batch.js';
import { claim3 } from './claim3-activations.js';
import { claim4 } from './claim4-order-residual.js';
import { claim5 } from './claim5-temporal.js';
import { claim6 } from './claim6-optimizers.js';
import { claim7 } from './claim7-depth.js';
import { claim8 } from './claim8-norms.js';
import { claim9 } from './claim9-conv.js';

export const STUDIES: Study[] = [claim1, claim2, claim3, claim4, claim5, claim6, claim7, claim8, claim9];
