// What a room does not support is data on the entry of its layer table (`unsupported: why`), read by the
// room itself and by the CLI through this one check, so every refusal says the same thing.
import type { LayerKind } from './layers.js';
import { kindsOf } from './layers.js';
import { layersOf, type NetworkSpec, SpecError } from './spec.js';

/** A room's table entry may say it cannot do a kind, and why. */
export interface MaybeSupported {
  unsupported?: string;
}

/** Why `what` (e.g. "the Jacobian spectrum") cannot run on this spec's layers, or null. */
export function unsupportedReason(spec: NetworkSpec, table: Record<LayerKind, MaybeSupported>, what: string): string | null {
  for (const k of kindsOf(layersOf(spec))) {
    const why = table[k].unsupported;
    if (why) return `${what} does not support ${k} layers (${why})`;
  }
  return null;
}

/** Throw a SpecError (exit 2 in the CLI) when the table cannot run the spec. */
export function checkSupported(spec: NetworkSpec, table: Record<LayerKind, MaybeSupported>, what: string): void {
  const why = unsupportedReason(spec, table, what);
  if (why) {
    const field = spec.order === 'custom' ? 'layers' : 'order';
    throw new SpecError(field, spec.order === 'custom' ? [...kindsOf(layersOf(spec))] : spec.order, `a network ${what} supports: ${why}`);
  }
}
