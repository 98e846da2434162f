import { chmod, lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Deletes a task's output tree once its container is gone. A task may have left directories
 * without write or search permission (`chmod 500 /output/a`), which stops even their owner
 * from deleting inside them, so each directory is made the owner's again first. Symlinks
 * are unlinked, never followed; only directories (seen with lstat) are ever chmod-ed.
 * With `keepRoot`, `dir` itself stays, empty.
 */
export async function removeOutput(dir: string, options: { keepRoot?: boolean } = {}) {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isDirectory()) {
    await unlink(dir);
    return;
  }
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) await removeOutput(join(dir, name));
  if (!options.keepRoot) await rmdir(dir);
}
