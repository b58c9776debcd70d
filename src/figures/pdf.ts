// SVG → PDF without a browser: pdfkit draws the SVG vega rendered (svg-to-pdfkit), text stays text in DejaVu Sans,
// embedded as a subset (pdfkit subsets every TrueType font it embeds), with a ToUnicode map so it can be searched.
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';
import { defaultFontFiles, RenderError } from './fonts.js';

export interface PdfOptions {
  /** Page size in points (1/72 in). Default: the SVG's own size at 96 px per inch. */
  widthPt?: number;
  heightPt?: number;
  /** Font files (DejaVu Sans regular, bold, oblique, bold oblique); default from the system font directory. */
  fontFiles?: string[];
  /** Written into the PDF's metadata. */
  title?: string;
}

const FACES = [
  ['DejaVuSans.ttf', 'regular'],
  ['DejaVuSans-Bold.ttf', 'bold'],
  ['DejaVuSans-Oblique.ttf', 'italic'],
  ['DejaVuSans-BoldOblique.ttf', 'bolditalic'],
] as const;

/** The SVG root's size in its user units (the viewBox when present, else width and height). */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const vb = /viewBox="\s*[-\d.e]+[\s,]+[-\d.e]+[\s,]+([\d.e]+)[\s,]+([\d.e]+)/.exec(root);
  if (vb) return { width: Number(vb[1]), height: Number(vb[2]) };
  const w = /\swidth="([\d.]+)/.exec(root);
  const h = /\sheight="([\d.]+)/.exec(root);
  if (!w || !h) throw new RenderError('svg: the root element has neither a viewBox nor a width and height');
  return { width: Number(w[1]), height: Number(h[1]) };
}

/**
 * pdfkit refuses dash patterns with a zero length, which SVG allows (vega writes `1,0` for a solid line): a pattern
 * whose gaps are all zero is solid; other zeros become a hair's length.
 */
export function pdfSafe(svg: string): string {
  return svg.replace(/\sstroke-dasharray="([^"]*)"/g, (m, v: string) => {
    const given = v
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    // an odd-length list repeats to an even one (SVG)
    const xs = given.length % 2 ? [...given, ...given] : given;
    if (xs.length === 0 || xs.every((x, i) => i % 2 === 0 || x === 0) || xs.every((x) => x === 0)) return '';
    return xs.some((x) => x === 0) ? ` stroke-dasharray="${xs.map((x) => (x === 0 ? 0.001 : x)).join(',')}"` : m;
  });
}

/** Draw an SVG on one PDF page of the given size (the drawing scaled to fit, centred). */
export function renderPdf(svg: string, opts: PdfOptions = {}): Promise<Uint8Array> {
  const size = svgSize(svg);
  const widthPt = opts.widthPt ?? (size.width * 72) / 96;
  const heightPt = opts.heightPt ?? (size.height * 72) / 96;
  if (!(widthPt > 0 && heightPt > 0)) throw new RenderError(`pdf: page size ${widthPt} × ${heightPt} pt is not allowed; expected positive`);
  const files = opts.fontFiles ?? defaultFontFiles();
  const regular = files.find((f) => f.endsWith('/DejaVuSans.ttf') || f.endsWith('DejaVuSans.ttf'));
  if (!regular) throw new RenderError(`fontFiles: no DejaVuSans.ttf among ${files.join(', ') || 'none'}; the PDF embeds DejaVu Sans`);
  const doc = new PDFDocument({
    size: [widthPt, heightPt],
    margin: 0,
    // a fixed date (the file ID is a hash of the info): the same figure gives the same bytes
    info: {
      Title: opts.title ?? 'signalprop figure',
      Producer: 'signalprop (pdfkit, svg-to-pdfkit)',
      Creator: 'signalprop',
      CreationDate: new Date(0),
    },
    pdfVersion: '1.7',
  });
  const faces = new Map<string, string>();
  for (const [file, face] of FACES) {
    const path = files.find((f) => f.endsWith(`/${file}`) || f === file);
    if (!path) continue;
    doc.registerFont(`DejaVu-${face}`, path);
    faces.set(face, `DejaVu-${face}`);
  }
  const pick = (bold: boolean, italic: boolean, o: { fauxBold: boolean; fauxItalic: boolean }) => {
    const want = bold && italic ? 'bolditalic' : bold ? 'bold' : italic ? 'italic' : 'regular';
    const have = faces.get(want);
    if (have) return have;
    o.fauxBold = bold;
    o.fauxItalic = italic;
    return faces.get('regular')!;
  };
  const chunks: Buffer[] = [];
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on('error', reject);
  });
  const warnings: string[] = [];
  SVGtoPDF(doc, pdfSafe(svg), 0, 0, {
    width: widthPt,
    height: heightPt,
    preserveAspectRatio: 'xMidYMid meet',
    assumePt: false,
    // every family in the SVG (DejaVu Sans and its fallback list) is drawn in the embedded DejaVu Sans
    fontCallback: (_family: string, bold: boolean, italic: boolean, o: { fauxBold: boolean; fauxItalic: boolean }) => pick(bold, italic, o),
    warningCallback: (w: string) => warnings.push(w),
  });
  doc.end();
  return done.then((bytes) => {
    const bad = warnings.filter((w) => !/^SVGElem\w*: (?:unknown|ignored)/i.test(w));
    if (bad.length) throw new RenderError(`pdf: svg-to-pdfkit: ${bad.slice(0, 3).join('; ')}`);
    return bytes;
  });
}
