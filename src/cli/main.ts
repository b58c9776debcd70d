// Entry point of the signalprop bin.
import { main } from './program.js';

process.exitCode = await main();
