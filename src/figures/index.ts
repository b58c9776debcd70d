// Figures: Vega-Lite specs over tidy records, headless SVG/PNG rendering, and the self-contained HTML report.
export {
  activationRateFigure,
  depthBatchHeatmapFigure,
  type HeatmapOptions,
  type LambdaBatchOptions,
  lambdaVsBatchFigure,
  linearBnReference,
} from './batch.js';
export { axisScale, FigureError, type FigureOptions, PALETTE, QUANTITY_TITLE, SOURCE_LABEL, specCaption } from './common.js';
export { type GradientDepthOptions, gradientVsDepthFigure } from './gradientDepth.js';
export {
  criticalLineFromGrid,
  type Histogram,
  densityHistogram,
  jacobianSpectrumFigure,
  type PhaseOptions,
  phaseDiagramFigure,
  type SpectrumOptions,
} from './maps.js';
export { FORMATS, type FigureSize, type Format, NAMED_SIZES, parseFormats, parseSize, renderPdf, THEMES, type ThemeName } from './paper.js';
export { buildFigure, FIGURE_NAMES, FIGURES, type FigureDef, type FigureName, isFigureName } from './registry.js';
export {
  type CompiledFigure,
  compileVegaLite,
  defaultFontFiles,
  FONT_FAMILY,
  type FigureRenderOptions,
  type PngOptions,
  type PreparedFigure,
  prepareFigure,
  RenderError,
  type RenderedFiles,
  renderFigure,
  renderPng,
  renderSvg,
} from './render.js';
export {
  type BuildReportOptions,
  buildReport,
  inlineSvg,
  type ReportFigure,
  type ReportInput,
  type ReportTable,
  reportHtml,
  specsTable,
  toolVersions,
  writeReport,
} from './report.js';
export { SYMMETRY_QUANTITIES, symmetryBreakingFigure } from './symmetry.js';
export {
  type EarlyTrainingOptions,
  earlyTrainingFigure,
  type GradientFactorsOptions,
  gradientFactorsFigure,
  type OptimizerOptions,
  optimizerComparisonFigure,
  optimizerLabel,
} from './training.js';
