// The real signalprop bin as a child process that a test can signal while it runs (kill tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/signalprop.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  /** Resolves when the process ends: its exit code (null if a signal killed it), the signal, the output. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function spawnCli(args: string[], opts: { cwd?: string } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Wait until `cond` holds (polling), or throw after timeoutMs; also throws if `running` ended first. */
export async function waitFor(cond: () => boolean, what: string, running?: Running, timeoutMs = 60_000): Promise<void> {
  let ended = false;
  running?.done.then(() => {
    ended = true;
  });
  const t0 = Date.now();
  while (!cond()) {
    if (ended) throw new Error(`the process ended before ${what}: ${JSON.stringify(await running!.done)}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A file exists and is not empty. */
export function nonEmpty(path: string): boolean {
  return existsSync(path) && statSync(path).size > 0;
}
