// Load a module by URL in the main thread and in worker threads alike. Pool workers run TypeScript
// through tsx's require hook (piscina loads worker files with require), where import() of a .ts file
// fails with ERR_UNKNOWN_FILE_EXTENSION; there the same file is loaded with require.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const req = createRequire(import.meta.url);

export async function loadModule<T = any>(href: string): Promise<T> {
  try {
    return (await import(href)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !href.startsWith('file:')) throw e;
    return req(fileURLToPath(href)) as T;
  }
}
