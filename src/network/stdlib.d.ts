// Node's ESM loader does not resolve folder imports ("@stdlib/random/base/randn"), which tsx did; the
// modules are imported by their file, typed as the folder's own declarations.
declare module '@stdlib/random/base/randn/lib/index.js' {
  import randn from '@stdlib/random/base/randn';
  export default randn;
}
declare module '@stdlib/random/base/randu/lib/index.js' {
  import randu from '@stdlib/random/base/randu';
  export default randu;
}
