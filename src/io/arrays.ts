// Array helpers safe at any size. `Math.max(...xs)` and `out.push(...xs)` pass every element as an argument
// on the stack and throw RangeError (call stack exceeded) above roughly 125k elements; these loop instead.

/** Largest value, as Math.max: -Infinity for none, NaN when any value is NaN. */
export function maxOf(xs: Iterable<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    if (Number.isNaN(x)) return Number.NaN;
    if (x > m) m = x;
  }
  return m;
}

/** Smallest value, as Math.min: Infinity for none, NaN when any value is NaN. */
export function minOf(xs: Iterable<number>): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) {
    if (Number.isNaN(x)) return Number.NaN;
    if (x < m) m = x;
  }
  return m;
}

/** Append every item to target (as target.push(...items), at any length); returns target. */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const x of items) target.push(x);
  return target;
}
