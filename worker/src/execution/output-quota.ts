// A hard limit on what a task writes: its /output is a file system of its own, sized to the
// task's byte cap (plus a small slack) and to its entry cap in inodes, so the kernel refuses
// the write past it (ENOSPC) instead of a watcher killing the task some time later. The file
// system is an ext4 image, sparse on the worker's disk, loop-mounted by the worker (root
// only), bind-mounted into the container, read after the run and then unmounted and deleted.
// See the execution README ("Output quota") for the trade-off against tmpfs.
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  rmdir,
  statfs,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { describeError } from "../../../sdk/errors.ts";
import { type Logger, silentLogger } from "../../../sdk/logger.ts";
import { ExecutionError } from "./errors.ts";

const execFileAsync = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Room above the byte cap, so that an output of exactly the cap fits with its per-file block
 * rounding and directories, and one byte over is still written and then reported
 * `output-too-large` by the final scan (not cut short by ENOSPC).
 */
export const OUTPUT_SLACK_BYTES = MiB;
/** ext4 inode size: 256 B leaves room for inline data (files under ~150 B take no block). */
const INODE_BYTES = 256;
/** ext4 reserves inodes 1–10 (2 is the root directory), and mke2fs makes lost+found. */
const RESERVED_INODES = 11;
/**
 * Fixed so that two providers' file systems for the same limits are identical: the
 * directory-hash seed decides readdir order in large directories.
 */
const FIXED_UUID = "00000000-0000-4000-8000-00000000c0a1";
// `discard`: a file deleted on the mount punches its blocks out of the sparse image, so moving
// the output out (copyOutput) does not hold it on the disk twice.
const MOUNT_OPTIONS = "loop,nodelalloc,noatime,nodev,nosuid,noexec,noinit_itable,discard";
const COMMAND_TIMEOUT_MS = 30_000;

export type OutputQuotaMechanism = "loop-ext4";
export type OutputQuotaProbe =
  | { ok: true; mechanism: OutputQuotaMechanism }
  | { ok: false; reason: string };

/** Where a task's quota file system lives: beside its outputDir, named by the worker. */
export function outputQuotaPaths(
  outputDir: string,
  workerId: string | undefined,
): { image: string; mountPoint: string } {
  const base = `${outputDir}.conun-output-${workerTag(workerId)}`;
  return { image: `${base}.img`, mountPoint: `${base}.mnt` };
}

/** A worker id as it appears in file names (a lower-case address, typically). */
function workerTag(workerId: string | undefined): string {
  const tag = (workerId ?? "").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80);
  return tag === "" ? "anonymous" : tag;
}

const IMAGE_NAME = /\.conun-output-([A-Za-z0-9_.-]+)\.img$/;

function unavailable(reason: string, cause?: unknown): ExecutionError {
  return new ExecutionError("output-quota-unavailable", `cannot bound /output: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { reason },
  });
}

async function command(file: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(file, args, {
    timeout: COMMAND_TIMEOUT_MS,
    maxBuffer: MiB,
  });
  return stdout;
}

/** A mounted quota file system for one task; `release` unmounts it and deletes its image. */
export interface OutputFs {
  mountPoint: string;
  image: string;
  /** Bytes a task can write in data blocks (statfs f_bavail): the cap plus the slack. */
  capacityBytes: number;
  /** Files and directories a task can create (free inodes). */
  capacityEntries: number;
  release(): Promise<void>;
}

/**
 * Makes and mounts a file system that holds at most `maxBytes + OUTPUT_SLACK_BYTES` of data
 * blocks and a little over `maxEntries` entries, owned by `owner`. Throws
 * `output-quota-unavailable` when the worker cannot mount (not root, no loop device, no
 * mkfs.ext4), naming what is missing.
 */
export async function mountOutputFs(options: {
  outputDir: string;
  workerId?: string;
  maxBytes: number;
  maxEntries: number;
  owner: { uid: number; gid: number };
  logger?: Logger;
}): Promise<OutputFs> {
  if (process.getuid?.() !== 0) {
    throw unavailable(
      "the worker is not root, so it cannot mount a size-limited file system for a task's " +
        "output; run the worker as root (the task itself still runs as an unprivileged user), " +
        'or pass outputQuota "off" to rely on the output watcher alone (no hard limit)',
    );
  }
  const { image, mountPoint } = outputQuotaPaths(options.outputDir, options.workerId);
  // Left by a run of this task that crashed before its clean-up.
  await unmountQuietly(mountPoint);
  await rm(image, { force: true });
  await rm(mountPoint, { recursive: true, force: true });
  await mkdir(mountPoint, { mode: 0o700 });
  const blockBytes = options.maxBytes + OUTPUT_SLACK_BYTES <= 4 * 1024 * MiB ? KiB : 4 * KiB;
  const target = roundUp(options.maxBytes + OUTPUT_SLACK_BYTES, blockBytes);
  const inodes = options.maxEntries + 1 + RESERVED_INODES;
  // A first guess of the metadata (inode tables, bitmaps, group descriptors), then grown by
  // what the first mount shows to be missing: mke2fs's layout has no closed form worth
  // keeping in step with e2fsprogs. (A block group spans 8 × blockBytes blocks; its bitmaps
  // and descriptors take 2–3 of them.)
  const groups = Math.ceil(target / (8 * blockBytes * blockBytes));
  let imageBytes =
    target +
    roundUp(inodes * INODE_BYTES, blockBytes) +
    (64 + (blockBytes === KiB ? 4 : 3) * groups) * blockBytes;
  let mounted = false;
  const release = async () => {
    if (mounted) await unmount(mountPoint);
    mounted = false;
    await rm(image, { force: true });
    await rmdir(mountPoint).catch(() => {});
  };
  try {
    for (let attempt = 0; ; attempt++) {
      await writeFile(image, "");
      await execFileAsync("truncate", ["-s", String(imageBytes), image]);
      await command("mke2fs", [
        "-q",
        "-F",
        "-t",
        "ext4",
        "-b",
        String(blockBytes),
        "-I",
        String(INODE_BYTES),
        "-N",
        String(inodes),
        "-m",
        "0",
        "-O",
        "^has_journal,^resize_inode,inline_data",
        "-U",
        FIXED_UUID,
        "-E",
        `hash_seed=${FIXED_UUID},lazy_itable_init=1,root_owner=${options.owner.uid}:${options.owner.gid}`,
        image,
      ]).catch((cause) => {
        throw unavailable(`mke2fs (e2fsprogs) failed: ${describeError(cause)}`, cause);
      });
      await command("mount", ["-t", "ext4", "-o", MOUNT_OPTIONS, image, mountPoint]).catch(
        (cause) => {
          throw unavailable(`cannot loop-mount an ext4 image: ${describeError(cause)}`, cause);
        },
      );
      mounted = true;
      await rmdir(join(mountPoint, "lost+found"));
      await zeroReservedClusters(mountPoint);
      const fs = await statfs(mountPoint);
      const capacityBytes = fs.bavail * fs.bsize;
      if (capacityBytes >= target) {
        await chmod(mountPoint, 0o755);
        options.logger?.debug("output quota mounted", { mountPoint, capacityBytes });
        return {
          mountPoint,
          image,
          capacityBytes,
          capacityEntries: fs.ffree,
          release,
        };
      }
      if (attempt >= 2) {
        throw unavailable(`the file system offers ${capacityBytes} B, below ${target} B`);
      }
      await unmount(mountPoint);
      mounted = false;
      imageBytes += roundUp(target - capacityBytes, blockBytes) + blockBytes;
    }
  } catch (error) {
    await release().catch(() => {});
    throw error;
  }
}

function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/**
 * ext4 holds back 2% of a small file system (at most 4096 clusters) for delayed allocation,
 * which `nodelalloc` does not use: give it to the task, so its capacity is what mke2fs laid
 * out and nothing the kernel decides at mount time.
 */
async function zeroReservedClusters(mountPoint: string) {
  const device = (await mountTable()).find((m) => m.mountPoint === mountPoint)?.source;
  if (device === undefined) return;
  await writeFile(`/sys/fs/ext4/${basename(device)}/reserved_clusters`, "0").catch(() => {});
}

async function unmount(mountPoint: string) {
  try {
    await command("umount", [mountPoint]);
  } catch {
    // Still busy (a container the engine failed to remove): detach it from the tree now; the
    // kernel frees it, and its loop device, once the last user is gone.
    await command("umount", ["-l", mountPoint]);
  }
}

async function unmountQuietly(mountPoint: string) {
  if ((await mountTable()).some((m) => m.mountPoint === mountPoint)) await unmount(mountPoint);
}

interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** This process's mount table (/proc/self/mountinfo; octal escapes in paths decoded). */
async function mountTable(): Promise<MountEntry[]> {
  const decodeOctal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, octal: string) =>
      String.fromCharCode(Number.parseInt(octal, 8)),
    );
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const fields = left.split(" ");
    const [fsType, source] = right.split(" ");
    entries.push({
      mountPoint: decodeOctal(fields[4] ?? ""),
      fsType: fsType ?? "",
      source: decodeOctal(source ?? ""),
    });
  }
  return entries;
}

/**
 * After a crash: unmounts and deletes the quota file systems a previous run of this worker
 * left (found through the loop devices' backing files, which carry the worker's id in their
 * name), and detaches loop devices of its images that are no longer mounted. Run it after
 * removeStaleContainers, so no container holds them. Returns how many it removed.
 */
export async function removeStaleOutputMounts(options: {
  workerId?: string;
  logger?: Logger;
}): Promise<number> {
  if (process.getuid?.() !== 0) return 0; // an unprivileged worker never mounts
  const log = (options.logger ?? silentLogger).child("execution");
  const tag = workerTag(options.workerId);
  const table = await mountTable();
  let removed = 0;
  for (const name of await readdir("/sys/block").catch(() => [] as string[])) {
    if (!name.startsWith("loop")) continue;
    const backing = (await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => ""))
      .trim()
      .replace(/ \(deleted\)$/, "");
    if (IMAGE_NAME.exec(backing)?.[1] !== tag) continue;
    try {
      for (const entry of table.filter((m) => m.source === `/dev/${name}`)) {
        await unmount(entry.mountPoint);
        await rmdir(entry.mountPoint).catch(() => {});
      }
      // Mounted with autoclear, the device goes with its last mount; one left unmounted by a
      // crash between losetup and mount does not.
      await command("losetup", ["-d", `/dev/${name}`]).catch(() => {});
      await rm(backing, { force: true });
      removed += 1;
      log.info("removed a stale output file system", { image: backing, device: name });
    } catch (error) {
      log.warn("could not remove a stale output file system", {
        image: backing,
        error: describeError(error),
      });
    }
  }
  return removed;
}

/**
 * Moves a checked output (regular files and directories only: the final scan refused
 * anything else, and the container is gone, so nothing changes under us) from the quota file
 * system into `to`, which must exist and be empty: each file is copied, then deleted from the
 * quota file system (which gives its blocks back to the disk). Files become 0644 and
 * directories 0755, owned by `owner` when the worker is root.
 */
export async function moveOutput(
  from: string,
  to: string,
  owner: { uid: number; gid: number },
): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const pending: string[] = [""];
  while (pending.length > 0) {
    const rel = pending.pop() as string;
    for (const name of await readdir(join(from, rel))) {
      const source = join(from, rel, name);
      const target = join(to, rel, name);
      const stat = await lstat(source);
      if (stat.isDirectory()) {
        await mkdir(target, { mode: 0o755 });
        pending.push(join(rel, name));
      } else if (stat.isFile()) {
        await copyFile(source, target, constants.COPYFILE_EXCL);
        await unlink(source);
        await chmod(target, 0o644);
      } else {
        throw new Error(`not a regular file or directory: ${join(rel, name)}`);
      }
      if (asRoot) await chown(target, owner.uid, owner.gid);
    }
  }
}

const probes = new Map<string, Promise<OutputQuotaProbe>>();

/**
 * Whether this worker can give a task's /output a hard quota, tried for real once per
 * directory (a small file system is made, mounted and removed in `dir`, default the system's
 * temporary directory; pass the worker's job-data directory). For bidding: a worker that gets
 * `{ ok: false }` cannot bound a task's output and should not take jobs whose output it must
 * bound; `reason` names the problem and the fix.
 */
export function probeOutputQuota(options: { dir?: string } = {}): Promise<OutputQuotaProbe> {
  const dir = options.dir ?? tmpdir();
  let probe = probes.get(dir);
  if (probe === undefined) {
    probe = tryMount(dir);
    probes.set(dir, probe);
  }
  return probe;
}

/** How the worker holds task outputs to their caps, decided once at start-up. */
export interface OutputBound {
  /** What runTask is told: a quota file system for every task, or the watcher alone. */
  runTask: "required" | "off";
  /** For bidding: whether the worker may take jobs at all, and why not. */
  bid: { ok: true } | { ok: false; reason: string };
  /** One line for the start-up log and `status`. */
  summary: string;
}

/**
 * Resolves the `limits.outputQuota` setting on this machine: `auto` uses the quota file
 * system when the probe in `dir` (the data directory) succeeds and the watcher otherwise,
 * `required` refuses jobs when it fails, `off` never tries.
 */
export async function resolveOutputBound(
  setting: "auto" | "required" | "off",
  dir: string,
): Promise<OutputBound> {
  if (setting === "off") {
    return {
      runTask: "off",
      bid: { ok: true },
      summary: "output watcher only (limits.outputQuota is off): a task may overshoot its cap",
    };
  }
  const probe = await probeOutputQuota({ dir });
  if (probe.ok) {
    return {
      runTask: "required",
      bid: { ok: true },
      summary: `hard quota (${probe.mechanism} file system per task)`,
    };
  }
  if (setting === "required") {
    return {
      runTask: "required",
      bid: { ok: false, reason: `${probe.reason} (limits.outputQuota is "required")` },
      summary: `refusing every job: no hard quota on this machine: ${probe.reason}`,
    };
  }
  return {
    runTask: "off",
    bid: { ok: true },
    summary: `output watcher only, a task may overshoot its cap: ${probe.reason}`,
  };
}

async function tryMount(dir: string): Promise<OutputQuotaProbe> {
  let scratch: string | undefined;
  try {
    scratch = await mkdtemp(join(dir, "conun-quota-probe-"));
    const fs = await mountOutputFs({
      outputDir: join(scratch, "output"),
      workerId: "probe",
      maxBytes: 64 * KiB,
      maxEntries: 16,
      owner: { uid: 65534, gid: 65534 },
    });
    await fs.release();
    return { ok: true, mechanism: "loop-ext4" };
  } catch (error) {
    const reason =
      error instanceof ExecutionError && error.code === "output-quota-unavailable"
        ? (error.details as { reason: string }).reason
        : describeError(error);
    return { ok: false, reason };
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}
