// `signalprop explore --out dir`: the explorer as a static site (index.html and explore.js) that opens from
// the file system, with no server and no network.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { bundlePage } from './bundle.js';
import { pageHtml } from './html.js';

/** Write index.html and explore.js into `dir` (created if missing); returns the page's path. */
export async function writeExplorerSite(dir: string): Promise<string> {
  const bundle = await bundlePage();
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'explore.js'), bundle.js);
  writeFileAtomic(join(dir, 'index.html'), pageHtml('explore.js'));
  return join(dir, 'index.html');
}
