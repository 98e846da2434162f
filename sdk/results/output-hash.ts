import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ResultsError } from "./errors.ts";

/** One regular file of a task's output, by its relative POSIX path. */
export interface OutputFile {
  path: string;
  size: number;
}

export interface ScanLimits {
  /** Stop with `output-too-large` once the files' total size exceeds this. */
  maxBytes?: number;
  /** Stop with `output-too-large` once more than this many files and directories are seen. */
  maxEntries?: number;
}

export interface OutputScan {
  /** Regular files, sorted by the UTF-8 bytes of their paths (the canonical order). */
  files: OutputFile[];
  totalBytes: number;
  /** Files plus directories below the root. */
  entries: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The longest relative path an output may hold. Linux refuses longer paths to open() and
 * friends (PATH_MAX 4096, minus room for where the output lives), so an output with one
 * could not be hashed or copied by path on every machine.
 */
export const MAX_PATH_BYTES = 3072;

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Lists a task's output directory without ever following a symlink: every entry is looked at
 * with lstat, and anything but a regular file or a directory (symlink, device, fifo, socket)
 * makes the output invalid, because hashing or copying it would make the host read or write
 * outside the task's own files. Names must be valid UTF-8 so that the canonical path order is
 * defined.
 */
export async function scanOutput(dir: string, limits: ScanLimits = {}): Promise<OutputScan> {
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxEntries = limits.maxEntries ?? Number.POSITIVE_INFINITY;
  const root = await lstat(dir);
  if (!root.isDirectory()) {
    throw new ResultsError("invalid-output", `output root is not a directory: ${dir}`, {
      details: { dir },
    });
  }
  const files: OutputFile[] = [];
  let totalBytes = 0;
  let entries = 0;
  const pending: string[] = [""];
  while (pending.length > 0) {
    const relDir = pending.pop() as string;
    const names = await readdir(join(dir, relDir), { encoding: "buffer" });
    for (const raw of names) {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch {
        throw new ResultsError("invalid-output", "output holds a file name that is not UTF-8", {
          details: { dir: relDir, name: raw.toString("hex") },
        });
      }
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      if (Buffer.byteLength(rel) > MAX_PATH_BYTES) {
        throw new ResultsError(
          "invalid-output",
          `output path longer than ${MAX_PATH_BYTES} bytes`,
          {
            details: { prefix: rel.slice(0, 200) },
          },
        );
      }
      const stat = await lstat(join(dir, rel));
      entries += 1;
      if (entries > maxEntries) {
        throw new ResultsError("output-too-large", `output has more than ${maxEntries} entries`, {
          details: { entries, maxEntries },
        });
      }
      if (stat.isDirectory()) {
        pending.push(rel);
      } else if (stat.isFile()) {
        files.push({ path: rel, size: stat.size });
        totalBytes += stat.size;
        if (totalBytes > maxBytes) {
          throw new ResultsError("output-too-large", `output exceeds ${maxBytes} bytes`, {
            details: { totalBytes, maxBytes },
          });
        }
      } else {
        const kind = stat.isSymbolicLink() ? "symlink" : "special file";
        throw new ResultsError("invalid-output", `output holds a ${kind}: ${rel}`, {
          details: { path: rel, kind },
        });
      }
    }
  }
  files.sort((a, b) => compareUtf8(a.path, b.path));
  return { files, totalBytes, entries };
}

/**
 * SHA-256 of one file, opened with O_NOFOLLOW so that a symlink swapped in after the scan is
 * refused by the kernel rather than followed.
 */
export async function sha256File(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash("sha256");
    const stream = createReadStream("", { fd: handle.fd, autoClose: false });
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

/** The canonical manifest lines of an output directory: `<path>\0<hex sha256>\n` per file. */
export async function outputListing(
  dir: string,
  limits: ScanLimits = {},
): Promise<{ path: string; sha256: string; size: number }[]> {
  const { files } = await scanOutput(dir, limits);
  const listing: { path: string; sha256: string; size: number }[] = [];
  for (const file of files) {
    listing.push({ ...file, sha256: await sha256File(join(dir, file.path)) });
  }
  return listing;
}

/**
 * The canonical output hash of one task (`0x` + 64 hex, usable as a bytes32): SHA-256 over
 * the lines `<relative POSIX path>\0<hex SHA-256 of contents>\n` of every regular file, sorted
 * by the UTF-8 bytes of the path. Directories are implied by the paths (an empty directory
 * does not count); timestamps, owners and modes are ignored.
 */
export async function outputHash(dir: string, limits: ScanLimits = {}): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await outputListing(dir, limits)) {
    hash.update(Buffer.from(file.path, "utf8"));
    hash.update(`\0${file.sha256}\n`);
  }
  return `0x${hash.digest("hex")}`;
}
