// The sweep's progress bar on stderr: cells done (of those to run), running, failed, ETA.
// On a terminal it redraws in place; otherwise it prints a line every few seconds.
import { SingleBar } from 'cli-progress';

export interface SweepProgress {
  /** Counts of this run: cells finished (done or failed), failed, currently running. */
  update(finished: number, failed: number, running: number): void;
  stop(): void;
}

/** A progress bar over `total` cells; `skipped` cells were already done and are not counted. */
export function progressBar(total: number, skipped: number, label = 'sweep', stream: NodeJS.WriteStream = process.stderr): SweepProgress {
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} cells | running {running} | failed {failed} | skipped ${skipped} | ETA {etaText}`,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    hideCursor: false,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  const t0 = Date.now();
  bar.start(total, 0, { running: 0, failed: 0, etaText: '?' });
  return {
    update(finished, failed, running) {
      bar.update(finished, { running, failed, etaText: eta(Date.now() - t0, finished, total) });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Remaining time from the mean time per finished cell so far ("?" before the first). */
export function eta(elapsedMs: number, finished: number, total: number): string {
  if (finished >= total) return '0s';
  if (finished === 0) return '?';
  const s = Math.round(((elapsedMs / finished) * (total - finished)) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** No output (the API's default, and --no-progress). */
export const silentProgress: SweepProgress = { update() {}, stop() {} };
