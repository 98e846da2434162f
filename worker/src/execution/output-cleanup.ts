import { execFile } from "node:child_process";
import { chmod, lstat, mkdir, readdir, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Deletes a task's output tree once its container is gone. A task may have left directories
 * without write or search permission (`chmod 500 /output/a`), which stops even their owner
 * from deleting inside them, so each directory is made the owner's again first. Symlinks
 * are unlinked, never followed; only directories (seen with lstat) are ever chmod-ed.
 * A task can also nest directories deeper than any path the kernel accepts (by renaming one
 * deep tree into another); Node's path-based calls fail there (ENAMETOOLONG), so the tree
 * then goes to GNU coreutils' `chmod -R` / `rm -rf`, which walk with openat and have no depth
 * limit. With `keepRoot`, `dir` itself stays, empty.
 */
export async function removeOutput(dir: string, options: { keepRoot?: boolean } = {}) {
  try {
    await removeByPath(dir, options.keepRoot ?? false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === undefined) throw error;
    const bounded = { timeout: 300_000, maxBuffer: 1 << 20 };
    if (process.getuid?.() !== 0)
      await run("chmod", ["-R", "u+rwx", "--", dir], bounded).catch(() => {});
    await run("rm", ["-rf", "--one-file-system", "--", dir], bounded);
    if (options.keepRoot) await mkdir(dir, { mode: 0o755 });
  }
}

async function removeByPath(dir: string, keepRoot: boolean) {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isDirectory()) {
    await unlink(dir);
    return;
  }
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) await removeByPath(join(dir, name), false);
  if (!keepRoot) await rmdir(dir);
}

/**
 * Gives the worker back read access to everything a task running as the worker's own uid
 * wrote, whatever modes the task set (`chmod 000`), so that it can be hashed and copied:
 * directories become 0755 and regular files 0644 (which also drops set-id and exec bits).
 * Only entries seen with lstat as directories or regular files are touched; symlinks and
 * special files are left for the output check to refuse. Entries owned by another uid are
 * skipped (chmod fails) and then surface as unreadable output.
 */
export async function makeOutputReadable(dir: string): Promise<void> {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined) return;
  if (stat.isFile()) {
    await chmod(dir, 0o644).catch(() => {});
    return;
  }
  if (!stat.isDirectory()) return;
  const ok = await chmod(dir, 0o755).then(
    () => true,
    () => false,
  );
  if (!ok) return;
  for (const name of await readdir(dir)) await makeOutputReadable(join(dir, name));
}
