import { chmod, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type KillCause, outputViolation } from "./outcome.ts";

export interface OutputUsage {
  bytes: number;
  entries: number;
  /** True when a bound was crossed (the walk stopped early). */
  exceeded: boolean;
  /** Set when part of /output cannot be measured at all: the task must not go on. */
  unmeasurable?: string;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Paths longer than this are not walked: the kernel refuses them (PATH_MAX 4096), and a task
 * can nest directories arbitrarily deep (rename a deep tree into another) to hide files from
 * a path-based walk. Reaching it makes the output unmeasurable.
 */
const MAX_WALK_PATH_BYTES = 3900;

/**
 * Measures a running task's /output: the total size of its regular files and the number of
 * entries, stopping as soon as a bound is crossed so a flood of tiny files cannot make the
 * walk itself expensive. Everything is looked at with lstat and symlinks are skipped, never
 * followed.
 *
 * A task must not be able to hide a flood from this walk. Two ways to try are closed: a
 * directory made unreadable (`chmod 000`, which stops an unprivileged worker running the
 * task as itself) is given back to its owner and read again; a directory the walk still
 * cannot read (paths nested past PATH_MAX, a loop) is reported as `unmeasurable`, and the
 * caller kills the task (a path too long to walk counts as such). What stays open: the task can swap a directory for a symlink
 * between our lstat and readdir, and the walk then counts foreign entries against the
 * task's own bounds — it may get itself killed, but no file content is ever read here. The
 * authoritative check runs after the container is gone.
 */
export async function measureOutput(
  dir: string,
  bounds: { maxBytes: number; maxEntries: number },
): Promise<OutputUsage> {
  let bytes = 0;
  let entries = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue; // changed under us: next poll
      if ((code === "EACCES" || code === "EPERM") && !isRoot()) {
        const again = await chmod(current, 0o755)
          .then(() => readdir(current))
          .catch(() => undefined);
        if (again !== undefined) {
          names = again;
        } else {
          return { bytes, entries, exceeded: false, unmeasurable: `cannot read ${current}` };
        }
      } else {
        return {
          bytes,
          entries,
          exceeded: false,
          unmeasurable: `${code ?? "error"} on a directory`,
        };
      }
    }
    for (const name of names) {
      const path = join(current, name);
      if (Buffer.byteLength(path) > MAX_WALK_PATH_BYTES) {
        return { bytes, entries, exceeded: false, unmeasurable: "paths nested too deep to walk" };
      }
      let stat: Awaited<ReturnType<typeof lstat>>;
      try {
        stat = await lstat(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") continue;
        return { bytes, entries, exceeded: false, unmeasurable: `${code ?? "error"} on an entry` };
      }
      entries += 1;
      if (stat.isDirectory()) pending.push(path);
      else if (stat.isFile()) bytes += stat.size;
      if (bytes > bounds.maxBytes || entries > bounds.maxEntries) {
        return { bytes, entries, exceeded: true };
      }
    }
  }
  return { bytes, entries, exceeded: false };
}

/**
 * Watches a running task's /output until `signal` aborts, measuring it every `pollMs` (slower
 * when the walk is slow, to stay under ~10% of a core however many files the task keeps);
 * resolves with the first violation of its bounds, or undefined once stopped.
 */
export async function watchOutput(
  dir: string,
  options: { maxBytes: number; maxEntries: number; pollMs: number; signal: AbortSignal },
): Promise<KillCause | undefined> {
  const { signal, pollMs } = options;
  const bounds = { maxBytes: options.maxBytes, maxEntries: options.maxEntries };
  let delay = pollMs;
  while (!signal.aborted) {
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      return undefined;
    }
    const walkStarted = performance.now();
    const violation = outputViolation(await measureOutput(dir, bounds), bounds);
    if (violation !== undefined && !signal.aborted) return violation;
    delay = Math.max(pollMs, 10 * (performance.now() - walkStarted));
  }
  return undefined;
}
