// The text of a rendered SVG: real subscripts for the `x_y` notation in labels, and the boxes the text occupies
// (for the no-overlap check), read from vega's SVG with the font's own advance widths.
import { type FontMetrics, textWidth } from './fontMetrics.js';

/**
 * `σ_w²`, `∂h_L`, `F_BN`, `‖W‖²_F`: an underscore after a symbol (or after a lone letter) followed by a run of
 * letters, digits or ℓ is a subscript. Identifiers such as `log_grad_h_sq` (a letter before the underscore that
 * follows another letter or underscore, or an underscore after the run) are left alone.
 */
const SUBSCRIPT = /(^|[^A-Za-z0-9_])([A-Za-z]|[^\sA-Za-z0-9_<>&;])_([A-Za-z0-9ℓ]+)(?![A-Za-z0-9_])/gu;

/** Rewrite `x_y` in the text content of an SVG as a lowered, smaller tspan (baseline-shift, so later text stays put). */
export function svgSubscripts(svg: string): string {
  return svg.replace(/(<text\b[^>]*>)([\s\S]*?)(<\/text>)/g, (_m, open: string, body: string, close: string) => {
    const size = Number(/font-size="([0-9.]+)/.exec(open)?.[1] ?? 11);
    const sub = `<tspan baseline-shift="${fmt(-0.22 * size)}" font-size="${fmt(0.72 * size)}px">`;
    // only text between tags (never attribute values)
    const out = body.replace(/>([^<]*)</g, (_t, s: string) => `>${subscriptRun(s, sub)}<`);
    const head = /^([^<]*)/.exec(body)![1];
    return open + subscriptRun(head, sub) + out.slice(head.length) + close;
  });
}

function subscriptRun(text: string, tspan: string): string {
  if (!text.includes('_')) return text;
  // the regex consumes the character before the base; run it until no match is left (adjacent subscripts)
  let prev = '';
  let cur = text;
  while (prev !== cur) {
    prev = cur;
    cur = cur.replace(SUBSCRIPT, (_m, pre: string, base: string, s: string) => `${pre}${base}${tspan}${s}</tspan>`);
  }
  return cur;
}

const fmt = (x: number) => String(Math.round(x * 100) / 100);

export interface TextBox {
  text: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  fontSize: number;
}

const decode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_m, d) => String.fromCodePoint(+d))
    .replace(/&#x([0-9a-f]+);/gi, (_m, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');

const NUM = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?';

type Affine = [number, number, number, number, number, number]; // x' = a x + c y + e, y' = b x + d y + f
const ID: Affine = [1, 0, 0, 1, 0, 0];
const mul = (m: Affine, n: Affine): Affine => [
  m[0] * n[0] + m[2] * n[1],
  m[1] * n[0] + m[3] * n[1],
  m[0] * n[2] + m[2] * n[3],
  m[1] * n[2] + m[3] * n[3],
  m[0] * n[4] + m[2] * n[5] + m[4],
  m[1] * n[4] + m[3] * n[5] + m[5],
];

/** translate(…), rotate(…) and scale(…) as vega writes them. */
function parseTransform(t: string | undefined): Affine {
  let m = ID;
  if (!t) return m;
  const re = new RegExp(`(translate|rotate|scale)\\(\\s*(${NUM})(?:[\\s,]+(${NUM}))?\\s*\\)`, 'gi');
  for (const [, op, a, b] of t.matchAll(re)) {
    const x = Number(a);
    const y = b === undefined ? undefined : Number(b);
    if (op === 'translate') m = mul(m, [1, 0, 0, 1, x, y ?? 0]);
    else if (op === 'scale') m = mul(m, [x, 0, 0, y ?? x, 0, 0]);
    else {
      const r = (x * Math.PI) / 180;
      m = mul(m, [Math.cos(r), Math.sin(r), -Math.sin(r), Math.cos(r), 0, 0]);
    }
  }
  return m;
}

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/**
 * The box of every visible line of text in a vega SVG, in SVG user units: advance widths from the font, from the
 * cap height (0.73 em) above the baseline to 0.22 em below it (DejaVu Sans), through the group transforms.
 * Text with opacity 0 (labels vega hid to avoid overlap) is skipped.
 */
export function svgTextBoxes(svg: string, metrics: { regular: FontMetrics; bold: FontMetrics }): TextBox[] {
  const boxes: TextBox[] = [];
  const stack: Affine[] = [ID];
  const re = /<(\/?)([A-Za-z][\w:-]*)([^>]*?)(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    const [, closing, name, rest, self] = m;
    if (closing) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (name === 'text' && self) continue;
    if (name === 'text') {
      const end = svg.indexOf('</text>', re.lastIndex);
      const body = svg.slice(re.lastIndex, end);
      re.lastIndex = end + '</text>'.length;
      const opacity = Number(attr(rest, 'opacity') ?? 1);
      if (opacity === 0 || attr(rest, 'visibility') === 'hidden') continue;
      const M = mul(stack[stack.length - 1], parseTransform(attr(rest, 'transform')));
      const size = Number(attr(rest, 'font-size')?.replace('px', '') ?? 11);
      const w = attr(rest, 'font-weight');
      const font = w === 'bold' || Number(w) >= 600 ? metrics.bold : metrics.regular;
      const anchor = attr(rest, 'text-anchor') ?? 'start';
      const x0 = Number(attr(rest, 'x') ?? 0);
      let y = Number(attr(rest, 'y') ?? 0);
      for (const line of textLines(body)) {
        y += line.dy;
        const width = line.parts.reduce((s, p) => s + textWidth(font, p.text, p.size ?? size), 0);
        const text = line.parts.map((p) => p.text).join('');
        if (!text.trim()) continue;
        const left = anchor === 'middle' ? x0 - width / 2 : anchor === 'end' ? x0 - width : x0;
        const corners = [
          [left, y - 0.73 * size],
          [left + width, y - 0.73 * size],
          [left, y + 0.22 * size],
          [left + width, y + 0.22 * size],
        ].map(([x, yy]) => [M[0] * x + M[2] * yy + M[4], M[1] * x + M[3] * yy + M[5]]);
        const xs = corners.map((c) => c[0]);
        const ys = corners.map((c) => c[1]);
        boxes.push({ text, x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys), fontSize: size });
      }
      continue;
    }
    if (!self) stack.push(name === 'g' ? mul(stack[stack.length - 1], parseTransform(attr(rest, 'transform'))) : stack[stack.length - 1]);
  }
  return boxes;
}

/** A text element's lines: a tspan with x or dy starts a new line; a tspan with only a font size is part of its line. */
function textLines(body: string): { dy: number; parts: { text: string; size?: number }[] }[] {
  const lines: { dy: number; parts: { text: string; size?: number }[] }[] = [{ dy: 0, parts: [] }];
  const re = /<(\/?)tspan([^>]*)>|([^<]+)/g;
  const sizes: (number | undefined)[] = [];
  for (const [, closing, rest, text] of body.matchAll(re)) {
    if (text !== undefined) {
      lines[lines.length - 1].parts.push({ text: decode(text), size: sizes[sizes.length - 1] });
      continue;
    }
    if (closing) {
      sizes.pop();
      continue;
    }
    const dy = attr(rest, 'dy');
    if (dy !== undefined || attr(rest, 'x') !== undefined) lines.push({ dy: Number(dy ?? 0), parts: [] });
    const fs = attr(rest, 'font-size');
    sizes.push(fs ? Number(fs.replace('px', '')) : sizes[sizes.length - 1]);
  }
  return lines.filter((l) => l.parts.length > 0);
}

/** Pairs of boxes whose intersection is larger than `minArea` (user units²). */
export function textOverlaps(boxes: TextBox[], minArea = 1): [TextBox, TextBox][] {
  const out: [TextBox, TextBox][] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
      const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (w > 0 && h > 0 && w * h > minArea) out.push([a, b]);
    }
  return out;
}
