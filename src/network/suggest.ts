// The nearest known name of a misspelt one (edit distance), for errors that name an unknown field.

/** Levenshtein distance (insert, delete, substitute; a swap of neighbours counts 1). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/** The known name closest to `name` (case-insensitive edit distance; ties: the first in `known`). */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const dist = editDistance(name.toLowerCase(), k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best;
}

/** The "allowed" text of an unknown field: the nearest known name, then every known name. */
export function unknownField(name: string, known: readonly string[], what: string): string {
  const near = nearestName(name, known);
  return `a known field${near ? ` (did you mean "${near}"?)` : ''}; ${what} has ${known.join(', ')}`;
}

/** ` (did you mean "x"?)` for an unknown option name close to a known one (a typo), else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = nearestName(name, known);
  if (near === null || editDistance(name.toLowerCase(), near.toLowerCase()) > Math.max(2, Math.ceil(name.length / 3))) return '';
  return ` (did you mean "${near}"?)`;
}
