// Paper output in one import: formats, sizes and themes (what `signalprop figure` and `reproduce` parse).
export { FORMATS, type FigureSize, type Format, NAMED_SIZES, parseFormats, parseSize } from './size.js';
export { THEMES, type ThemeName } from './theme.js';
export { renderPdf } from './pdf.js';
