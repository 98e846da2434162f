import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ImportCandidate } from "ipfs-unixfs-importer";
import { ContentError } from "./errors.ts";

/**
 * Turns a directory on disk into importer candidates, depth first, streaming each file.
 * Hidden files are included (unlike a bare `ipfs add -r`, which needs `-H`): silently
 * dropping `.config` from a job's inputs or a task's outputs would change what runs or what
 * is paid for. Symlinks, devices, fifos and sockets are refused, not followed: following a
 * symlink would import bytes from outside the tree.
 */
export function directoryCandidates(root: string): {
  rootName: string;
  candidates: AsyncIterable<ImportCandidate>;
} {
  // The root's own name is not part of its CID (only its children's names are), so a fixed
  // name keeps paths simple and lets the caller spot the root entry.
  const rootName = "root";
  async function* walk(dir: string, prefix: string): AsyncGenerator<ImportCandidate> {
    const info = await lstat(dir);
    if (!info.isDirectory()) {
      throw new ContentError("content-unsupported", `not a directory: ${dir}`, {
        details: { path: dir },
      });
    }
    const names = (await readdir(dir)).sort();
    // An empty directory is only imported if named explicitly.
    if (names.length === 0) yield { path: prefix };
    for (const name of names) {
      const full = join(dir, name);
      const entry = await lstat(full);
      const path = `${prefix}/${name}`;
      if (entry.isDirectory()) {
        yield* walk(full, path);
      } else if (entry.isFile()) {
        yield { path, content: createReadStream(full) };
      } else {
        const kind = entry.isSymbolicLink() ? "a symlink" : "not a regular file or directory";
        throw new ContentError("content-unsupported", `${full} is ${kind}; refusing to store it`, {
          details: { path: full },
        });
      }
    }
  }
  return { rootName, candidates: walk(root, rootName) };
}
