// Worker threads: pools sized to the cores and kept warm, and the URL of a module to run on them
// (`moduleUrl`: the same call site from the sources and from the compiled package).
export { closePools, defaultThreads, makePool, runInPool } from './pool.js';
export { isTypeScriptUrl, moduleUrl } from './moduleUrl.js';
