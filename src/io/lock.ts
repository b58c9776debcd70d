// One writer per directory: a lock file holding "<host> <pid>", created exclusively. A lock left by a
// dead process on this host is taken over; a live one, or one from another host (whose processes we
// cannot see), is refused with a LockError that names the holder. Used by the sweep store and by
// training run directories.
import { closeSync, existsSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export class LockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockError';
  }
}

export interface FileLock {
  readonly path: string;
  /** Remove the lock file (only if it is still ours). Idempotent. */
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Take the lock file `path` for this process. `what` names the locked thing in messages ("sweep store
 * /x"); `busy` says what to do when it is in use ("wait for it or use another --out").
 */
export function acquireLock(path: string, what: string, busy: string): FileLock {
  const me = `${hostname()} ${process.pid}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // the content first, then an exclusive link: the lock file never exists half-written
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
      writeFileSync(tmp, me);
      try {
        linkSync(tmp, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
        // a file system without hard links: an exclusive create, then the content
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, me);
        } finally {
          closeSync(fd);
        }
      } finally {
        unlinkSync(tmp);
      }
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          if (readLock(path) === me && existsSync(path)) unlinkSync(path);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = readLock(path);
      if (held === null) continue; // released meanwhile: try again
      const [host, pidStr] = held.split(' ');
      const pid = Number(pidStr);
      if (host === hostname() && Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
        throw new LockError(`${what} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}; ${busy}`);
      }
      if (host !== hostname()) throw new LockError(`${what} is locked by ${host} (pid ${pidStr}); if nothing runs there, delete ${path}`);
      // a stale lock of a dead process on this host: take it over, unless it changed meanwhile
      if (readLock(path) === held) unlinkSync(path);
    }
  }
  throw new LockError(`cannot lock ${what} (${path} keeps changing)`);
}
