// Output paths checked before any work: a result computed for an hour must not be lost to "--out is a directory".
// Writes go to a temp file beside the target and are renamed onto it (files.ts), so the target must be a regular
// file or absent, and the nearest directory that exists must be a writable directory. Pseudo file systems
// (/proc, /sys, /dev) are refused: writing there can hang, or write to a device instead of a file.
import { accessSync, constants, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

function underPseudo(abs: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  return PSEUDO_ROOTS.find((r) => abs === r || abs.startsWith(`${r}/`));
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return null; // a component is a file: found by the ancestor walk below
    throw e;
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Why `path` cannot take an output of this kind ('file': written atomically; 'dir': created if missing and
 * written into), or null when it can. Reads the file system only (stat, realpath, access); creates nothing.
 */
export function outPathProblem(path: string, kind: 'file' | 'dir'): string | null {
  if (path === '') return 'is empty; expected a path';
  const abs = resolve(path);
  const pseudo = underPseudo(abs);
  if (pseudo) return `is under ${pseudo}; expected a path outside /proc, /sys and /dev (outputs are regular files)`;
  const st = statOrNull(abs);
  if (st) {
    if (kind === 'file' && !st.isFile()) return `is ${kindOf(st)}; expected a file path (a regular file or a new name)`;
    if (kind === 'dir' && !st.isDirectory()) return `is ${st.isFile() ? 'a file' : kindOf(st)}; expected a directory (existing or new)`;
  }
  // The nearest ancestor that exists (the directory itself when kind is 'dir' and it exists; else the parent chain).
  let dir = st && kind === 'dir' ? abs : dirname(abs);
  for (;;) {
    const ds = statOrNull(dir);
    if (ds) {
      if (!ds.isDirectory()) return `is not allowed; "${dir}" is ${ds.isFile() ? 'a file' : kindOf(ds)}, not a directory`;
      break;
    }
    const up = dirname(dir);
    if (up === dir) return 'is not allowed; no part of it exists';
    dir = up;
  }
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // keep the path as given
  }
  const realPseudo = underPseudo(real);
  if (realPseudo) return `is under ${realPseudo} (through "${dir}"); expected a path outside /proc, /sys and /dev`;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    return `is not writable (${(e as NodeJS.ErrnoException).code ?? 'no access'} on "${dir}")`;
  }
  return null;
}
