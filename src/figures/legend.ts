// Legends that show how each series is drawn: a line's dash, a point's shape (fills follow the colour scale). Vega-Lite draws one
// symbol shape for a whole legend; per-entry symbols come from encode signals keyed on the entry's label.
export interface SeriesStyle {
  name: string;
  color: string;
  /** How the series is drawn: a line or rule (the symbol is a stroke with its dash), points, or a filled area/bar. */
  mark: 'line' | 'point' | 'area';
  dash?: number[];
  /** Point shape (default circle). */
  shape?: 'circle' | 'square' | 'diamond' | 'triangle-up' | 'cross';
}

/** The legend of a `series` colour encoding whose entries are drawn as the series are (stroke dash, point shape). */
export function seriesLegend(styles: SeriesStyle[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pick = (f: (s: SeriesStyle) => string, fallback: string) => ({
    signal: styles.reduceRight((acc, s) => `datum.value === ${JSON.stringify(s.name)} ? ${f(s)} : ${acc}`, fallback),
  });
  const lit = (x: unknown) => JSON.stringify(x).replace(/"/g, "'");
  return {
    symbolType: 'stroke',
    ...extra,
    encode: {
      symbols: {
        update: {
          shape: pick((s) => lit(s.mark === 'point' ? (s.shape ?? 'circle') : s.mark === 'area' ? 'square' : 'stroke'), "'stroke'"),
          stroke: pick((s) => lit(s.color), "'#000000'"),
          strokeDash: pick((s) => lit(s.mark === 'line' ? (s.dash ?? [1, 0]) : [1, 0]), '[1, 0]'),
          opacity: { value: 1 },
        },
      },
    },
  };
}
