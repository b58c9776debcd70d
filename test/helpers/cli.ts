// Run the real signalprop bin in a child process (as a user would), capturing stdout/stderr/exit code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/signalprop.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    input: opts.input,
    // `train --json` prints every record (a 1000-step run: ~2 MB); spawnSync's default 1 MB would kill it
    maxBuffer: 512 * 2 ** 20,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  if (r.error) throw new Error(`runCli ${args.join(' ')}: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
