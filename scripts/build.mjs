// npm run build (and prepare/prepack): compile src/ and analysis/ to dist/ (JavaScript + declarations), then
// put the native addon's type declarations where dist's declarations look for them (../../native/blas).
// Written to a temporary folder and renamed, so a failed build leaves the previous dist/ whole.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = join(root, `dist.${process.pid}.tmp`);
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
rmSync(tmp, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', tmp], { stdio: 'inherit' });
  mkdirSync(join(tmp, 'native', 'blas'), { recursive: true });
  copyFileSync(join(root, 'native', 'blas', 'index.d.cts'), join(tmp, 'native', 'blas', 'index.d.cts'));
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`signalprop build: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
if (existsSync(join(root, 'dist'))) rmSync(join(root, 'dist'), { recursive: true, force: true });
renameSync(tmp, join(root, 'dist'));
console.error('signalprop build: dist/ written');
