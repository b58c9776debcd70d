#!/usr/bin/env node
// The signalprop command. The installed package runs its compiled code (dist/); a checkout, which has the
// TypeScript sources, runs them through tsx's loader (a development dependency), so an edit needs no rebuild.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/src/cli/main.js');
}
