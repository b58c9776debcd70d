// The activation table's entries as the tests run them: each at its default argument and at each of
// its example arguments, so a new entry (or a new example) is picked up by every loop over them.
import { ACTIVATION_NAMES, type Activation, activationEntry, makeActivation } from '../../src/network/index.js';

export function everyActivation(): Activation[] {
  return ACTIVATION_NAMES.flatMap((n) => {
    const arg = activationEntry(n).arg;
    return [makeActivation(n), ...(arg?.examples ?? []).map((a) => makeActivation(n, a))];
  });
}
