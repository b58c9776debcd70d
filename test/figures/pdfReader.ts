// A small PDF reader for the tests, written from the PDF 1.7 reference (ISO 32000-1 §7.3, §9.4, §9.10): objects,
// Flate streams, the page's MediaBox, and the text shown by Tj/TJ decoded through each font's ToUnicode CMap.
// It reads what pdfkit writes (uncompressed cross-reference table, Type0 fonts with 2-byte codes); no more.
import { inflateSync } from 'node:zlib';

export interface PdfObject {
  num: number;
  dict: string;
  stream?: Buffer;
}

export function pdfObjects(pdf: Uint8Array): Map<number, PdfObject> {
  const s = Buffer.from(pdf).toString('latin1');
  const out = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*([\s\S]*?)endobj/g;
  for (const [, n, body] of s.matchAll(re)) {
    const k = body.indexOf('stream');
    if (k < 0 || !/\/Length/.test(body.slice(0, k))) {
      out.set(Number(n), { num: Number(n), dict: body });
      continue;
    }
    const dict = body.slice(0, k);
    let start = k + 'stream'.length;
    if (body[start] === '\r') start++;
    if (body[start] === '\n') start++;
    const end = body.lastIndexOf('endstream');
    let raw = Buffer.from(body.slice(start, end), 'latin1');
    // the stream's own length (the EOL before endstream is not part of the data)
    const len = /\/Length (\d+)(?! \d+ R)/.exec(dict);
    if (len) raw = raw.subarray(0, Number(len[1]));
    const stream = /\/FlateDecode/.test(dict) ? inflateSync(raw) : raw;
    out.set(Number(n), { num: Number(n), dict, stream });
  }
  return out;
}

/** Page sizes in points, from each /Type /Page's /MediaBox. */
export function pdfPageSizes(pdf: Uint8Array): { width: number; height: number }[] {
  const out: { width: number; height: number }[] = [];
  for (const o of pdfObjects(pdf).values()) {
    if (!/\/Type\s*\/Page\b/.test(o.dict)) continue;
    const m = /\/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]/.exec(o.dict);
    if (m) out.push({ width: Number(m[3]) - Number(m[1]), height: Number(m[4]) - Number(m[2]) });
  }
  return out;
}

const hexToCodes = (hex: string, bytes: number) => {
  const h = hex.replace(/\s+/g, '');
  const out: number[] = [];
  for (let i = 0; i + 2 * bytes <= h.length; i += 2 * bytes) out.push(Number.parseInt(h.slice(i, i + 2 * bytes), 16));
  return out;
};

const utf16 = (hex: string) => {
  const units = hexToCodes(hex, 2);
  return String.fromCharCode(...units);
};

/** A ToUnicode CMap: code → text, from its bfchar and bfrange sections. */
export function parseToUnicode(cmap: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const [, body] of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g))
    for (const [, src, dst] of body.matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) m.set(Number.parseInt(src, 16), utf16(dst));
  for (const [, body] of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    const re = /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(?:<([0-9a-fA-F]+)>|\[([^\]]*)\])/g;
    for (const [, lo, hi, dst, arr] of body.matchAll(re)) {
      const a = Number.parseInt(lo, 16);
      const b = Number.parseInt(hi, 16);
      if (arr !== undefined) {
        const items = [...arr.matchAll(/<([0-9a-fA-F]+)>/g)].map((x) => utf16(x[1]));
        for (let c = a; c <= b; c++) m.set(c, items[c - a] ?? '');
      } else {
        const first = utf16(dst!);
        const base = first.charCodeAt(first.length - 1);
        for (let c = a; c <= b; c++) m.set(c, first.slice(0, -1) + String.fromCharCode(base + c - a));
      }
    }
  }
  return m;
}

export interface PdfFontInfo {
  resource: string;
  baseFont: string;
  embedded: boolean;
  toUnicode: Map<number, string>;
}

/** Every font a resource dictionary names (/F1 …), with its base font, whether its file is embedded, and its CMap. */
export function pdfFonts(pdf: Uint8Array): Map<string, PdfFontInfo> {
  const objs = pdfObjects(pdf);
  const fonts = new Map<string, PdfFontInfo>();
  const deref = (ref: string) => objs.get(Number(ref));
  for (const o of objs.values()) {
    const fontDict = /\/Font\s*<<([\s\S]*?)>>/.exec(o.dict);
    if (!fontDict) continue;
    for (const [, name, ref] of fontDict[1].matchAll(/\/([\w.+-]+)\s+(\d+) 0 R/g)) {
      const f = deref(ref);
      if (!f) continue;
      const tu = /\/ToUnicode\s+(\d+) 0 R/.exec(f.dict);
      const base = /\/BaseFont\s*\/([^\s/>]+)/.exec(f.dict)?.[1] ?? '';
      // Type0 → DescendantFonts → FontDescriptor → FontFile2
      const desc = /\/DescendantFonts\s*\[\s*(\d+) 0 R/.exec(f.dict);
      const cid = desc ? deref(desc[1]) : f;
      const fd = cid ? /\/FontDescriptor\s+(\d+) 0 R/.exec(cid.dict) : null;
      const fdObj = fd ? deref(fd[1]) : undefined;
      const embedded = Boolean(fdObj && /\/FontFile[23]?\s+\d+ 0 R/.test(fdObj.dict));
      fonts.set(name, {
        resource: name,
        baseFont: base,
        embedded,
        toUnicode: tu ? parseToUnicode(deref(tu[1])?.stream?.toString('latin1') ?? '') : new Map(),
      });
    }
  }
  return fonts;
}

/** The text of every BT…ET block of every content stream, in drawing order, decoded through the fonts' CMaps. */
export function pdfText(pdf: Uint8Array): string[] {
  const fonts = pdfFonts(pdf);
  const out: string[] = [];
  for (const o of pdfObjects(pdf).values()) {
    const s = o.stream?.toString('latin1');
    if (!s || !/\bBT\b/.test(s) || /begincmap/.test(s)) continue;
    for (const [, block] of s.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)) {
      let font: PdfFontInfo | undefined;
      let text = '';
      const re = /\/([\w.+-]+)\s+[-\d.]+\s+Tf|<([0-9a-fA-F\s]*)>\s*Tj|\[((?:[^\]])*)\]\s*TJ/g;
      for (const [, f, hex, arr] of block.matchAll(re)) {
        if (f !== undefined) font = fonts.get(f);
        const dec = (h: string) =>
          hexToCodes(h, 2)
            .map((c) => font?.toUnicode.get(c) ?? '\uFFFD')
            .join('');
        if (hex !== undefined) text += dec(hex);
        if (arr !== undefined) for (const [, h] of arr.matchAll(/<([0-9a-fA-F\s]*)>/g)) text += dec(h);
      }
      out.push(text);
    }
  }
  return out;
}
