// Figures: Vega-Lite specs over tidy records, headless SVG/PNG rendering, and the self-contained HTML report.
export { activationRate, depthBatchHeatmap, type HeatmapOptions, type LambdaBatchOptions, lambdaVsBatch, linearBnRate } from './batch.js';
export { axisScale, FigureError, type FigureOptions, PALETTE, QUANTITY_TITLE, SOURCE_LABEL, specCaption } from './common.js';
export { type GradientDepthOptions, gradientVsDepth } from './gradientDepth.js';
export { criticalLineFromGrid, type Histogram, histogram, jacobianSpectrum, type PhaseOptions, phaseDiagram, type SpectrumOptions } from './maps.js';
export { buildFigure, FIGURE_NAMES, FIGURES, type FigureDef, type FigureName, isFigureName } from './registry.js';
export { type CompiledFigure, compileVegaLite, defaultFontFiles, FONT_FAMILY, type PngOptions, RenderError, type RenderedFiles, renderFigure, renderPng, renderSvg } from './render.js';
export { type BuildReportOptions, buildReport, inlineSvg, type ReportFigure, type ReportInput, type ReportTable, reportHtml, specsTable, toolVersions, writeReport } from './report.js';
export { type EarlyTrainingOptions, earlyTraining, type OptimizerOptions, optimizerComparison, optimizerLabel } from './training.js';
