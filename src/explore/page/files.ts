/// <reference lib="dom" />
// Files the user gives the page: dropped (files, or a run directory: its records.jsonl or records.json,
// with the run labels of its manifest.json, as src/compare/load.ts reads a run directory, two levels deep)
// or picked with a file input (files, or a directory through webkitdirectory).
import { manifestTags } from './records.js';

export interface NamedText {
  name: string;
  text: string;
  /** Labels of the run directory the file came from. */
  tags?: Record<string, string>;
}

const RECORD_FILES = ['records.jsonl', 'records.json'];

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function children(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out);
        else {
          out.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

/** A directory's records file (and manifest), or those of its subdirectories, two levels down. */
async function fromDirectory(dir: FileSystemDirectoryEntry, depth: number): Promise<NamedText[]> {
  const kids = await children(dir);
  const byName = new Map(kids.map((k) => [k.name, k]));
  const rec = RECORD_FILES.map((n) => byName.get(n)).find((e) => e?.isFile) as FileSystemFileEntry | undefined;
  if (rec) {
    const man = byName.get('manifest.json') as FileSystemFileEntry | undefined;
    const tags = manifestTags(man?.isFile ? await (await fileOf(man)).text() : null, dir.name);
    return [{ name: `${dir.name}/${rec.name}`, text: await (await fileOf(rec)).text(), tags }];
  }
  if (depth === 0) return [];
  const out: NamedText[] = [];
  const subdirs = kids.filter((k) => k.isDirectory && !k.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
  for (const k of subdirs) out.push(...(await fromDirectory(k as FileSystemDirectoryEntry, depth - 1)));
  return out;
}

/** The files of a drop (read before the first await: a DataTransfer empties once its event is over). */
export async function collectDropped(dt: DataTransfer): Promise<NamedText[]> {
  const entries = Array.from(dt.items ?? [])
    .filter((i) => i.kind === 'file')
    .map((i) => ({ entry: typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null, file: i.getAsFile() }));
  const files = Array.from(dt.files ?? []);
  const out: NamedText[] = [];
  if (entries.length === 0) {
    for (const f of files) out.push({ name: f.name, text: await f.text() });
    return out;
  }
  for (const { entry, file } of entries) {
    if (entry?.isDirectory) out.push(...(await fromDirectory(entry as FileSystemDirectoryEntry, 2)));
    else if (file) out.push({ name: file.name, text: await file.text() });
  }
  return out;
}

/** The files of a file input: plain files, or (webkitdirectory) the records files of a directory's runs. */
export async function collectPicked(list: FileList): Promise<NamedText[]> {
  const files = Array.from(list);
  const inDir = files.filter((f) => f.webkitRelativePath);
  if (inDir.length === 0) return Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() })));
  const byDir = new Map<string, Map<string, File>>();
  for (const f of inDir) {
    const parts = f.webkitRelativePath.split('/');
    if (parts.length > 4) continue;
    const dir = parts.slice(0, -1).join('/');
    if (!byDir.has(dir)) byDir.set(dir, new Map());
    byDir.get(dir)!.set(parts[parts.length - 1], f);
  }
  const out: NamedText[] = [];
  for (const [dir, m] of [...byDir].sort(([a], [b]) => a.localeCompare(b))) {
    const rec = RECORD_FILES.map((n) => m.get(n)).find(Boolean);
    if (!rec) continue;
    const man = m.get('manifest.json');
    const tags = manifestTags(man ? await man.text() : null, dir.split('/').pop() ?? dir);
    out.push({ name: `${dir}/${rec.name}`, text: await rec.text(), tags });
  }
  return out;
}
