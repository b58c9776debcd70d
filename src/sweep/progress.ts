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
    format: `${label} [{bar}] {value}/{total} cells | running {running} | failed {failed} | skipped ${skipped} | ETA {eta_formatted}`,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    hideCursor: false,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    etaBuffer: 20,
    etaAsynchronousUpdate: true,
  });
  bar.start(total, 0, { running: 0, failed: 0 });
  return {
    update(finished, failed, running) {
      bar.update(finished, { running, failed });
    },
    stop() {
      bar.stop();
    },
  };
}

/** No output (the API's default, and --no-progress). */
export const silentProgress: SweepProgress = { update() {}, stop() {} };
