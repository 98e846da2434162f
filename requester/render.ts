// How conun:watch shows progress: on a terminal, event lines scroll above one progress bar
// that is redrawn in place; elsewhere (CI logs, pipes) plain timestamped lines only.
import { fractionDone, type JobProgress, type WatchEvent } from "./watch.ts";

export interface ProgressPrinter {
  onEvent(event: WatchEvent, progress: JobProgress): void;
  /** Clears the bar (call before printing anything else). */
  done(): void;
}

export function createProgressPrinter(
  stream: NodeJS.WriteStream = process.stdout,
  tty: boolean = stream.isTTY === true,
): ProgressPrinter {
  let barShown = false;
  const clearBar = () => {
    if (barShown) stream.write("\r\x1b[2K");
    barShown = false;
  };
  return {
    onEvent(event, progress) {
      const time = new Date(event.timestamp * 1000).toISOString().slice(11, 19);
      if (!tty) {
        stream.write(`${time} job ${progress.jobId} ${event.text}\n`);
        return;
      }
      clearBar();
      stream.write(`${time}  ${event.text}\n`);
      const width = 30;
      const filled = Math.round(fractionDone(progress) * width);
      stream.write(
        `[${"#".repeat(filled)}${"-".repeat(width - filled)}] job ${progress.jobId} ${progress.status}`,
      );
      barShown = true;
    },
    done: clearBar,
  };
}
