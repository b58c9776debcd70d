// signalprop explore: the theory room live in a browser page, served on 127.0.0.1 or written as a static site.
export { type BundleOptions, BundleError, bundlePage, type PageBundle, pageEntry } from './bundle.js';
export { ExplorerError, type ExplorerOptions, type ExplorerServer, startExplorer } from './server.js';
export { writeExplorerSite } from './site.js';
