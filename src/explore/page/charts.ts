// The explorer's four figures as Vega-Lite specs, their data inline (a downloaded spec renders alone).
// Theory is a line, the B → ∞ limit a dashed rule, the current setting a black point, measurements coloured
// points (with 95% intervals where the records give them) or bars.
import type { TopLevelSpec } from 'vega-lite';
import type { BatchPoint, DepthPoint, SvBin } from './overlay.js';

const W = 380;
const H = 230;
const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: W,
  height: H,
  background: 'white',
  config: { font: 'sans-serif', view: { stroke: '#ccc' } },
} as const;
const MEASURED_SCALE = { scheme: 'dark2' };

export function depthChart(theory: { layer: number; value: number }[], measured: DepthPoint[], subtitle: string): TopLevelSpec {
  const layers: unknown[] = [
    {
      data: { values: theory },
      mark: { type: 'line', color: '#333', point: { size: 12, color: '#333' } },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'block l', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'ln(‖∂L/∂h_l‖² / ‖∂L/∂h_L‖²)' },
        tooltip: [
          { field: 'layer', type: 'quantitative' },
          { field: 'value', type: 'quantitative', format: '.6g' },
        ],
      },
    },
  ];
  if (measured.length)
    layers.push({
      data: { values: measured },
      mark: { type: 'point', filled: true, size: 30 },
      encoding: {
        x: { field: 'layer', type: 'quantitative' },
        y: { field: 'value', type: 'quantitative' },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'measured',
          scale: MEASURED_SCALE,
          legend: { orient: 'bottom', columns: 1, labelLimit: 360 },
        },
        tooltip: [{ field: 'series' }, { field: 'layer', type: 'quantitative' }, { field: 'value', type: 'quantitative', format: '.6g' }],
      },
    });
  return { ...base, title: { text: 'Gradient norm against depth (theory: predict)', subtitle }, layer: layers } as TopLevelSpec;
}

export function batchChart(
  curve: { batch: number; lambda: number }[],
  limit: number | null,
  current: { batch: number; lambda: number } | null,
  measured: BatchPoint[],
  subtitle: string,
): TopLevelSpec {
  const x = {
    field: 'batch',
    type: 'quantitative',
    title: 'batch size B',
    scale: { type: 'log', base: 2 },
    axis: { values: [4, 8, 16, 32, 64, 128, 256, 512, 1024] },
  };
  const layers: unknown[] = [
    {
      data: { values: curve },
      mark: { type: 'line', color: '#333' },
      encoding: {
        x,
        y: { field: 'lambda', type: 'quantitative', title: 'λ: growth of ‖∂L/∂h‖² per layer', scale: { zero: false } },
        tooltip: [
          { field: 'batch', type: 'quantitative' },
          { field: 'lambda', type: 'quantitative', format: '.6g' },
        ],
      },
    },
  ];
  if (limit !== null && Number.isFinite(limit))
    layers.push({
      data: { values: [{ lambda: limit }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#777' },
      encoding: { y: { field: 'lambda', type: 'quantitative' } },
    });
  if (current)
    layers.push({
      data: { values: [current] },
      mark: { type: 'point', filled: true, color: 'black', size: 60 },
      encoding: { x: { field: 'batch', type: 'quantitative' }, y: { field: 'lambda', type: 'quantitative' } },
    });
  const withCi = measured.filter((m) => m.lo !== null && m.hi !== null);
  if (withCi.length)
    layers.push({
      data: { values: withCi },
      mark: { type: 'rule' },
      encoding: {
        x: { field: 'batch', type: 'quantitative' },
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
        color: { field: 'series', type: 'nominal', scale: MEASURED_SCALE },
      },
    });
  if (measured.length)
    layers.push({
      data: { values: measured },
      mark: { type: 'point', filled: true, size: 40 },
      encoding: {
        x: { field: 'batch', type: 'quantitative' },
        y: { field: 'value', type: 'quantitative' },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'measured',
          scale: MEASURED_SCALE,
          legend: { orient: 'bottom', columns: 1, labelLimit: 360 },
        },
        tooltip: [{ field: 'series' }, { field: 'batch', type: 'quantitative' }, { field: 'value', type: 'quantitative', format: '.6g' }],
      },
    });
  return { ...base, title: { text: 'λ against batch size (dashed: B → ∞)', subtitle }, layer: layers } as TopLevelSpec;
}

export function phaseChart(
  cells: { sigmaW2: number; sigmaB2: number; chi1: number }[],
  critical: { sigmaW2: number; sigmaB2: number }[],
  current: { sigmaW2: number; sigmaB2: number },
  step: { sw2: number; sb2: number },
  subtitle: string,
  domain: { sw2: [number, number]; sb2: [number, number] },
): TopLevelSpec {
  const values = cells.filter((c) => c.chi1 > 0 && Number.isFinite(c.chi1)).map((c) => ({ ...c, lnChi1: Math.log(c.chi1) }));
  const lim = Math.max(0.1, ...values.map((v) => Math.abs(v.lnChi1)));
  return {
    ...base,
    title: { text: 'Phase diagram: ln χ₁ (0 on the critical line)', subtitle },
    layer: [
      {
        data: { values },
        transform: [
          { calculate: `datum.sigmaW2 - ${step.sw2 / 2}`, as: 'x0' },
          { calculate: `datum.sigmaW2 + ${step.sw2 / 2}`, as: 'x1' },
          { calculate: `datum.sigmaB2 - ${step.sb2 / 2}`, as: 'y0' },
          { calculate: `datum.sigmaB2 + ${step.sb2 / 2}`, as: 'y1' },
        ],
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: 'σ_w²', scale: { domain: domain.sw2, nice: false } },
          x2: { field: 'x1' },
          y: { field: 'y0', type: 'quantitative', title: 'σ_b²', scale: { domain: domain.sb2, nice: false } },
          y2: { field: 'y1' },
          color: { field: 'lnChi1', type: 'quantitative', title: 'ln χ₁', scale: { scheme: 'blueorange', domain: [-lim, lim] } },
          tooltip: [
            { field: 'sigmaW2', type: 'quantitative', title: 'σ_w²' },
            { field: 'sigmaB2', type: 'quantitative', title: 'σ_b²' },
            { field: 'chi1', type: 'quantitative', title: 'χ₁', format: '.5g' },
          ],
        },
      },
      {
        data: { values: critical },
        mark: { type: 'line', color: 'black', strokeWidth: 2 },
        encoding: {
          x: { field: 'sigmaW2', type: 'quantitative' },
          y: { field: 'sigmaB2', type: 'quantitative' },
          order: { field: 'sigmaB2' },
        },
      },
      {
        data: { values: [current] },
        mark: { type: 'point', shape: 'cross', filled: true, size: 120, color: 'black' },
        encoding: { x: { field: 'sigmaW2', type: 'quantitative' }, y: { field: 'sigmaB2', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export function spectrumChart(theory: { sv: number; density: number }[], measured: SvBin[], subtitle: string): TopLevelSpec {
  const layers: unknown[] = [];
  if (measured.length)
    layers.push({
      data: { values: measured },
      mark: { type: 'rect', opacity: 0.45 },
      encoding: {
        x: { field: 'sv0', type: 'quantitative' },
        x2: { field: 'sv1' },
        y: { datum: 0 },
        y2: { field: 'density' },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'measured',
          scale: MEASURED_SCALE,
          legend: { orient: 'bottom', columns: 1, labelLimit: 360 },
        },
      },
    });
  layers.push({
    data: { values: theory },
    mark: { type: 'line', color: '#333' },
    encoding: {
      x: { field: 'sv', type: 'quantitative', title: 'singular value σ of ∂x_L/∂x_0' },
      y: { field: 'density', type: 'quantitative', title: 'density (continuous part)' },
    },
  });
  return { ...base, title: { text: 'Jacobian singular values (free probability)', subtitle }, layer: layers } as TopLevelSpec;
}

/** A chart with a message in place of data (a spec the theory does not cover). */
export function messageChart(title: string, message: string): TopLevelSpec {
  const lines = message.match(/.{1,70}(\s|$)/g) ?? [message];
  return {
    ...base,
    title,
    data: { values: lines.map((text, i) => ({ text: text.trim(), i })) },
    mark: { type: 'text', align: 'left', baseline: 'top', fontSize: 12, color: '#a33' },
    encoding: { x: { value: 8 }, y: { field: 'i', type: 'ordinal', axis: null }, text: { field: 'text' } },
  } as TopLevelSpec;
}
