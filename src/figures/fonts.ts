// The font files every renderer is given explicitly (resvg, pdfkit, the text metrics): DejaVu Sans.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Directories searched for DejaVu Sans (Debian/Ubuntu, Fedora/Arch, Alpine). */
export const FONT_DIRS = [
  '/usr/share/fonts/truetype/dejavu',
  '/usr/share/fonts/dejavu',
  '/usr/share/fonts/TTF',
  '/usr/share/fonts/dejavu-sans-fonts',
];
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSans-BoldOblique.ttf'];

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** The DejaVu Sans files resvg is given. Without them resvg falls back to a serif, or (no system fonts) draws no text at all. */
export function defaultFontFiles(): string[] {
  for (const dir of FONT_DIRS) {
    const files = FONT_FILES.map((f) => join(dir, f)).filter((p) => existsSync(p));
    if (files.some((f) => f.endsWith('/DejaVuSans.ttf'))) return files;
  }
  throw new RenderError(
    `fonts: DejaVuSans.ttf not found in ${FONT_DIRS.join(', ')}; install fonts-dejavu-core (Debian/Ubuntu) or pass fontFiles`,
  );
}
