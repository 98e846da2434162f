import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export interface OutputUsage {
  bytes: number;
  entries: number;
  /** True when a bound was crossed (the walk stopped early). */
  exceeded: boolean;
}

/**
 * Measures a running task's /output: the total size of its regular files and the number of
 * entries, stopping as soon as a bound is crossed so a flood of tiny files cannot make the
 * walk itself expensive. Everything is looked at with lstat and symlinks are skipped, never
 * followed. While the task runs it can still swap a directory for a symlink between our
 * lstat and readdir; the worst that buys it is having the walk count foreign entries against
 * its own bounds (and being killed), because no file content is ever read here. The
 * authoritative check runs after the container is gone (see runTask).
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
    } catch {
      continue; // removed or replaced while we walked: the next poll sees the new state
    }
    for (const name of names) {
      const path = join(current, name);
      const stat = await lstat(path).catch(() => undefined);
      if (stat === undefined) continue;
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
