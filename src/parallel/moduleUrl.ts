// Files that are loaded by URL (worker-thread modules, lazily loaded rooms) are written `./x.js` at the call
// site and resolved to the extension of the module that asks: `.ts` when signalprop runs from its sources
// (a checkout, through tsx), `.js` when it runs from the compiled package (dist/).

/** `rel` (written with a `.js` suffix) resolved against `base` (an import.meta.url), with base's extension. */
export function moduleUrl(rel: string, base: string): URL {
  if (!rel.endsWith('.js')) throw new Error(`moduleUrl: ${rel} must end in .js`);
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(rel.slice(0, -3) + ext, base);
}

/** Whether a module URL names TypeScript (run through tsx's loader) rather than compiled JavaScript. */
export function isTypeScriptUrl(url: URL | string): boolean {
  return String(url).endsWith('.ts');
}
