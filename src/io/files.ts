// Files on disk (Node only): atomic writes and JSON reads, shared by every room that writes results.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Write a file atomically: a temp file beside it, then rename, so nothing is ever half-written. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    // never leave the temp file behind (e.g. the target is a directory, or the disk is full)
    rmSync(tmp, { force: true });
    throw e;
  }
}
