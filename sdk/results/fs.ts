/**
 * The file-system edge of sdk/results: walking and hashing an output directory without
 * following links, writing, reading and verifying bundles on disk, and the layout of a
 * revealed directory. Node only; everything it computes comes from the pure modules beside
 * it (output-hash.ts, bundle.ts, verify.ts, layout.ts), which the dApp imports directly.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import path, { dirname, join } from "node:path";
import {
  buildResultsFile,
  MAX_RESULTS_FILE_BYTES,
  parseResultsFile,
  type ResultsEntry,
  type ResultsFile,
  serializeResultsFile,
  type TaskStatus,
  unsuccessfulTaskHash,
} from "./bundle.ts";
import { ResultsError } from "./errors.ts";
import { groupBundleName, locateGroupBundle } from "./layout.ts";
import { outcomeFields } from "./outcome.ts";
import {
  compareUtf8,
  type ListingEntry,
  listingHash,
  MAX_PATH_BYTES,
  type OutputFile,
  type OutputScan,
  type ScanLimits,
} from "./output-hash.ts";
import { type BundleVerification, type TaskOutputRead, verifyResults } from "./verify.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

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
): Promise<(ListingEntry & OutputFile)[]> {
  const { files } = await scanOutput(dir, limits);
  const listing: (ListingEntry & OutputFile)[] = [];
  for (const file of files) {
    listing.push({ ...file, sha256: await sha256File(join(dir, file.path)) });
  }
  return listing;
}

/**
 * The canonical output hash of an output directory (`0x` + 64 hex; output-hash.ts
 * `listingHash` says how it is made).
 */
export async function outputHash(dir: string, limits: ScanLimits = {}): Promise<string> {
  return listingHash(await outputListing(dir, limits));
}

export interface BundleTaskInput {
  index: number;
  status: TaskStatus;
  /**
   * The task's /output on the host. Copied into `tasks/<index>/` and hashed; omit it for a
   * task without usable output, whose leaf is then `unsuccessfulTaskHash(status)`.
   */
  outputDir?: string;
  /** The hash the caller already computed; checked against the copy when given. */
  outputHash?: string;
  /** How the task ended (informational, not in the leaf): stored escaped and bounded. */
  exitCode?: number | null;
  /** The task's stderr (or its end): its last lines are stored, escaped. */
  stderr?: string;
  /** The worker's one-sentence account of the outcome. */
  reason?: string;
}

export interface WriteBundleOptions {
  /** Where to write the bundle; must not exist yet. */
  bundleDir: string;
  jobId: bigint | number | string;
  groupId: bigint | number | string;
  provider: string;
  tasks: readonly BundleTaskInput[];
  /** Bounds applied while copying each task's output. */
  limits?: { maxBytes?: number; maxEntries?: number };
}

/**
 * Copies one file: the source opened with O_NOFOLLOW (scanOutput refused symlinks, and this
 * keeps a link swapped in since from being followed), the target created exclusively, 0644.
 */
async function copyNoFollow(source: string, target: string): Promise<void> {
  const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const output = await open(target, "wx", 0o644);
    try {
      const buffer = Buffer.allocUnsafe(1 << 16);
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        let written = 0;
        while (written < bytesRead) {
          written += (await output.write(buffer, written, bytesRead - written)).bytesWritten;
        }
      }
      await output.chmod(0o644);
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Copies a task's output without following links and without keeping any mode bit the task
 * chose: the bundle holds plain 0644 files, so nothing in it is executable or set-id on the
 * host, whatever the task wrote.
 */
async function copyOutput(
  source: string,
  destination: string,
  limits: WriteBundleOptions["limits"],
): Promise<void> {
  const { files } = await scanOutput(source, limits);
  await mkdir(destination, { recursive: true, mode: 0o755 });
  for (const file of files) {
    const target = join(destination, file.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await copyNoFollow(join(source, file.path), target);
  }
}

/**
 * Writes a results bundle: `tasks/<index>/…` with each task's output and `results.json`
 * `{ version: 1, jobId, groupId, provider, root, tasks: [{ index, outputHash, status, proof,
 * exitCode?, stderrTail?, reason? }] }` (the last three informational, outside the leaf).
 * Hashes are computed from the copies, so the bundle is consistent with itself even if the
 * source changes. Returns the parsed index (its `root` is what the provider commits to).
 */
export async function writeBundle(options: WriteBundleOptions): Promise<ResultsFile> {
  const { bundleDir } = options;
  await mkdir(dirname(bundleDir), { recursive: true });
  await mkdir(bundleDir, { recursive: false, mode: 0o755 });
  await mkdir(join(bundleDir, "tasks"), { mode: 0o755 });
  const sorted = [...options.tasks].sort((a, b) => a.index - b.index);
  const entries: ResultsEntry[] = [];
  for (const task of sorted) {
    let hash: string;
    if (task.outputDir === undefined) {
      hash = task.outputHash ?? unsuccessfulTaskHash(task.status);
    } else {
      const copy = join(bundleDir, "tasks", String(task.index));
      await copyOutput(task.outputDir, copy, options.limits);
      hash = await outputHash(copy);
      if (task.outputHash !== undefined && task.outputHash.toLowerCase() !== hash) {
        throw new ResultsError(
          "output-changed",
          `task ${task.index}'s output no longer matches its hash`,
          { details: { index: task.index, expected: task.outputHash, actual: hash } },
        );
      }
    }
    entries.push({
      index: task.index,
      outputHash: hash.toLowerCase(),
      status: task.status,
      outcome: outcomeFields(task),
    });
  }
  const results = buildResultsFile({ ...options, entries });
  await writeFile(join(bundleDir, "results.json"), serializeResultsFile(results), {
    flag: "wx",
    mode: 0o644,
  });
  return results;
}

/** Reads and validates a bundle's `results.json`. */
export async function readBundle(bundleDir: string): Promise<ResultsFile> {
  const path = join(bundleDir, "results.json");
  const stat = await lstat(path).catch((cause: unknown) => {
    throw new ResultsError("bundle-invalid", `no results.json in ${bundleDir}`, { cause });
  });
  if (!stat.isFile() || stat.size > MAX_RESULTS_FILE_BYTES) {
    throw new ResultsError("bundle-invalid", "results.json is not a regular file of sane size");
  }
  return parseResultsFile(await readFile(path, "utf8"));
}

/**
 * Checks a bundle on disk against the root that won on chain, task by task (verify.ts
 * `verifyResults`, with each task's files read from `tasks/<index>/`).
 */
export async function verifyBundle(
  bundleDir: string,
  expectedRoot: string,
): Promise<BundleVerification> {
  const results = await readBundle(bundleDir);
  return verifyResults(results, expectedRoot, async (index): Promise<TaskOutputRead> => {
    const dir = join(bundleDir, "tasks", String(index));
    const present = await lstat(dir).then(
      (stat) => stat,
      () => undefined,
    );
    if (present === undefined) return undefined;
    try {
      const hash = await outputHash(dir);
      const { files } = await scanOutput(dir);
      return { hash, files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
    } catch (error) {
      return { invalid: error instanceof Error ? error.message : String(error) };
    }
  });
}

/**
 * Where to write group `groupId`'s bundle inside the directory that will be revealed, given how
 * many groups of the job the provider holds: the directory itself for one group (the bundle
 * is then the revealed CID, as in the common case), `group-<groupId>/` for several.
 */
export function groupBundlePath(
  revealedDir: string,
  groupId: bigint | number | string,
  groupsHeld: number,
): string {
  if (!Number.isInteger(groupsHeld) || groupsHeld < 1) {
    throw new ResultsError("results-invalid-argument", `groupsHeld must be ≥ 1, got ${groupsHeld}`);
  }
  return groupsHeld === 1 ? revealedDir : path.join(revealedDir, groupBundleName(groupId));
}

/**
 * Finds group `groupId`'s bundle in an exported revealed directory (layout.ts
 * `locateGroupBundle`): the directory itself when its `results.json` is that group's, else its
 * `group-<groupId>/` sub-bundle; anything else is a ResultsError `bundle-group-missing`, a
 * malformed `results.json` is `bundle-invalid`, as from readBundle.
 */
export async function findGroupBundle(
  revealedDir: string,
  groupId: bigint | number | string,
): Promise<string> {
  const { prefix } = await locateGroupBundle(groupId, async (prefix) => {
    const dir = prefix === "" ? revealedDir : path.join(revealedDir, prefix);
    return (await isFile(path.join(dir, "results.json"))) ? readBundle(dir) : undefined;
  });
  return prefix === "" ? revealedDir : path.join(revealedDir, prefix.slice(0, -1));
}

/** A regular file, not followed through a link (an exported bundle never holds links). */
async function isFile(file: string): Promise<boolean> {
  return lstat(file).then(
    (stat) => stat.isFile(),
    () => false,
  );
}
