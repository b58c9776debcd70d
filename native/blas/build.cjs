// Build the optional OpenBLAS (and, when installed, oneDNN) addon with the system C compiler (no
// node-gyp, no network).
// Never fails the install: without a compiler, node headers or libopenblas, signalprop uses its
// pure-TypeScript float64 kernels instead.
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const here = __dirname;
const candidates = [
  path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
];
const headers = candidates.find((d) => existsSync(path.join(d, 'node_api.h')));
const out = path.join(here, 'build', 'blas.node');
// compiled beside it and renamed over it, so that a process that has the old one loaded keeps a whole file
const tmp = `${out}.${process.pid}.tmp`;
const cc = process.env.CC || 'cc';
try {
  if (!headers) throw new Error(`node_api.h not found in ${candidates.join(', ')}`);
  mkdirSync(path.join(here, 'build'), { recursive: true });
  const extra = ['/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/include/openblas']
    .filter((d) => existsSync(path.join(d, 'cblas.h')))
    .map((d) => `-I${d}`);
  const base = ['-O3', '-ffp-contract=off', '-shared', '-fPIC', `-I${headers}`, ...extra, path.join(here, 'blas.c'), '-o', tmp];
  // With oneDNN (Debian libdnnl-dev) float32 sgemm runs on its JIT kernels; without it, on OpenBLAS.
  const withDnnl = existsSync('/usr/include/oneapi/dnnl/dnnl.h');
  let engine = 'OpenBLAS';
  try {
    if (!withDnnl) throw new Error('no oneDNN headers');
    execFileSync(cc, [...base, '-DSP_DNNL', '-fopenmp', '-lopenblas', '-ldnnl', '-lm'], { stdio: ['ignore', 'inherit', 'pipe'] });
    engine = 'oneDNN sgemm, OpenBLAS dgemm';
  } catch {
    execFileSync(cc, [...base, '-lopenblas', '-lm'], { stdio: ['ignore', 'inherit', 'pipe'] });
  }
  require('node:fs').renameSync(tmp, out);
  console.log(`signalprop-blas: built ${out} (${engine})`);
} catch (e) {
  const msg = (e.stderr ? e.stderr.toString() : e.message).split('\n').slice(0, 3).join(' ');
  console.log(`signalprop-blas: not built (${msg}); signalprop falls back to its TypeScript kernels`);
}
