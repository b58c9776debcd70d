// Worker threads: pools sized to the cores and kept warm, and the URL of a module to run on them
// (`moduleUrl`: the same call site from the sources and from the compiled package).

export { isTypeScriptUrl, moduleUrl } from './moduleUrl.js';
export { closePools, defaultThreads, makePool, releasePool, runInPool, warmPool } from './pool.js';
