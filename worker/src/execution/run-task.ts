import { chmod, chown, mkdir, readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import { describeError, isConunError } from "../../../sdk/errors.ts";
import { type Logger, silentLogger } from "../../../sdk/logger.ts";
import type { TaskStatus } from "../../../sdk/results/bundle.ts";
import { scanOutput } from "../../../sdk/results/fs.ts";
import { DEFAULT_API_TIMEOUT_MS, dockerCall, dockerStatus } from "./docker.ts";
import { ExecutionError } from "./errors.ts";
import {
  classifyOutcome,
  discardsOutput,
  type KillCause,
  needsOutputCheck,
  type OutputCheck,
} from "./outcome.ts";
import { makeOutputReadable, removeOutput } from "./output-cleanup.ts";
import { mountOutputFs, moveOutput, type OutputFs } from "./output-quota.ts";
import { measureOutput, watchOutput } from "./output-watch.ts";

export type { TaskStatus };

/** Labels that mark a container as a CONUN task, so a restarted worker can find its own. */
export const LABEL_JOB = "conun.job";
export const LABEL_TASK = "conun.task";
export const LABEL_WORKER = "conun.worker";

/** The user tasks of a root worker run as unless told otherwise: `nobody`. */
export const DEFAULT_TASK_USER = { uid: 65534, gid: 65534 };

/**
 * The default task user: `nobody` when the worker runs as root (it can hand /output over
 * with chown); otherwise the worker's own uid and gid, so that an unprivileged worker (in the
 * docker group) can read, hash and delete everything its tasks write. Inside the container
 * that uid has no capabilities and sees no host path but /input and /output either way.
 */
export function defaultTaskUser(): { uid: number; gid: number } {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined || uid === 0) return DEFAULT_TASK_USER;
  return { uid, gid };
}

export interface TaskLimits {
  cpuMillicores: number;
  memoryMiB: number;
  pids: number;
  /** Wall clock, from start to kill; fractions allowed. */
  timeoutSeconds: number;
  /** Total size of the regular files under /output. */
  maxOutputBytes: number;
  /** Files plus directories under /output; default 10 000. */
  maxOutputEntries?: number;
  /** Size of the /tmp scratch tmpfs (charged to the memory limit too); default 64 MiB. */
  tmpfsMiB?: number;
  /** Open files per process; default 1024. */
  nofile?: number;
  /**
   * GPUs to pass through (Docker's `--gpus N`, NVIDIA container toolkit); default 0. An engine
   * without a GPU driver refuses the container (docker-failed), which is what the worker's
   * capacity check is for.
   */
  gpuCount?: number;
}

export interface RunTaskOptions {
  docker: Docker;
  /** `sha256:…`, as ensureImage returned it. */
  imageId: string;
  /** The full argv; it replaces the image's entrypoint and command (no shell). */
  command: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Host directory mounted read-only at /input. */
  inputsDir?: string;
  /** Host directory mounted read-write at /output; created here, so it must not exist. */
  outputDir: string;
  limits: TaskLimits;
  /** Default `defaultTaskUser()`. Root (uid 0) is refused unless `allowRootUser`. */
  user?: { uid: number; gid: number };
  allowRootUser?: boolean;
  /** Stored as container labels (see removeStaleContainers). */
  labels?: { jobId?: bigint | number | string; taskIndex?: number; workerId?: string };
  signal?: AbortSignal;
  logger?: Logger;
  /** How often the output watcher measures /output; default 50 ms. */
  outputPollMs?: number;
  apiTimeoutMs?: number;
  /** How much of the end of stdout and of stderr to keep; default 8 KiB each. */
  logTailBytes?: number;
  /**
   * How /output is bounded (README "Output quota"). `auto` (default): a file system of the
   * task's size when the worker is root, else the output watcher alone; `required`: the file
   * system or an `output-quota-unavailable` error before anything runs; `off`: the watcher.
   */
  outputQuota?: "auto" | "required" | "off";
}

export interface TaskResult {
  status: TaskStatus;
  /** The container's exit code; null when it never ran. */
  exitCode: number | null;
  /** One sentence for logs and reports. */
  reason: string;
  durationMs: number;
  /** Bytes of regular files under /output at the end (a lower bound after a flood). */
  outputBytes: number;
  /** The last bytes of the task's stdout and stderr. */
  logs: { stdout: string; stderr: string };
  containerId?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MiB = 1024 * 1024;

function invalidTask(message: string, details: Record<string, unknown> = {}): ExecutionError {
  return new ExecutionError("task-invalid", message, { details });
}

function validate(options: RunTaskOptions) {
  const { command, env = {}, limits, outputDir, inputsDir } = options;
  if (!/^sha256:[0-9a-f]{64}$/.test(options.imageId)) {
    throw invalidTask(`imageId must be sha256:<64 hex>, got ${options.imageId}`);
  }
  if (
    command.length === 0 ||
    command.some((arg) => typeof arg !== "string" || arg.includes("\0"))
  ) {
    throw invalidTask("command must be a non-empty argv of strings without NUL");
  }
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof value !== "string" || value.includes("\0")) {
      throw invalidTask(`invalid environment variable ${JSON.stringify(name)}`);
    }
  }
  const positive = { cpuMillicores: 1, memoryMiB: 6, pids: 1 } as const;
  for (const [key, min] of Object.entries(positive)) {
    const value = limits[key as keyof typeof positive];
    if (!Number.isInteger(value) || value < min) {
      throw invalidTask(`limits.${key} must be an integer >= ${min}`, { [key]: value });
    }
  }
  if (
    limits.gpuCount !== undefined &&
    (!Number.isInteger(limits.gpuCount) || limits.gpuCount < 0)
  ) {
    throw invalidTask("limits.gpuCount must be a non-negative integer");
  }
  if (!(limits.timeoutSeconds > 0) || !Number.isFinite(limits.timeoutSeconds)) {
    throw invalidTask("limits.timeoutSeconds must be positive");
  }
  if (!Number.isSafeInteger(limits.maxOutputBytes) || limits.maxOutputBytes < 0) {
    throw invalidTask("limits.maxOutputBytes must be a non-negative integer");
  }
  if (!isAbsolute(outputDir) || (inputsDir !== undefined && !isAbsolute(inputsDir))) {
    throw invalidTask("outputDir and inputsDir must be absolute paths");
  }
  const user = options.user ?? defaultTaskUser();
  if (!Number.isInteger(user.uid) || !Number.isInteger(user.gid) || user.uid < 0 || user.gid < 0) {
    throw invalidTask("user must be numeric uid and gid");
  }
  if (user.uid === 0 && !options.allowRootUser) {
    throw invalidTask("refusing to run a task as root (uid 0)");
  }
  return user;
}

/**
 * A fresh /output owned by the task's user. A root worker hands the directory over with
 * chown; an unprivileged worker running a task as itself needs nothing; one told to run a
 * task as another uid cannot chown and opens the directory to everyone instead (its parent
 * directory must then keep other host users out, and files the task writes may not be
 * removable by the worker).
 */
async function prepareOutputDir(
  outputDir: string,
  user: { uid: number; gid: number },
  log: Logger,
) {
  await mkdir(outputDir, { mode: 0o755 });
  if (process.getuid?.() === 0) {
    await chown(outputDir, user.uid, user.gid);
  } else if (process.getuid?.() !== user.uid) {
    await chmod(outputDir, 0o777);
    log.debug("output directory opened to all (worker is not root)", { outputDir });
  }
}

function containerSpec(
  options: RunTaskOptions,
  user: { uid: number; gid: number },
  outputSource: string,
) {
  const { limits, labels = {} } = options;
  const mounts: Docker.MountSettings[] = [
    { Type: "bind", Source: outputSource, Target: "/output", ReadOnly: false },
  ];
  if (options.inputsDir !== undefined) {
    mounts.push({ Type: "bind", Source: options.inputsDir, Target: "/input", ReadOnly: true });
  }
  const nofile = limits.nofile ?? 1024;
  // One byte over the cap: a file that hits the limit is then over the total as well, so the
  // final check reports output-too-large instead of a bare SIGXFSZ exit.
  const fsize = limits.maxOutputBytes + 1;
  return {
    Image: options.imageId,
    Entrypoint: [options.command[0] as string],
    Cmd: options.command.slice(1),
    Env: Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`),
    User: `${user.uid}:${user.gid}`,
    Hostname: "conun-task",
    NetworkDisabled: true,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    Labels: {
      [LABEL_JOB]: labels.jobId === undefined ? "" : String(labels.jobId),
      [LABEL_TASK]: labels.taskIndex === undefined ? "" : String(labels.taskIndex),
      [LABEL_WORKER]: labels.workerId ?? "",
    },
    HostConfig: {
      NetworkMode: "none",
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": `rw,noexec,nosuid,nodev,mode=1777,size=${(limits.tmpfsMiB ?? 64) * MiB}` },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      PidsLimit: limits.pids,
      Memory: limits.memoryMiB * MiB,
      MemorySwap: limits.memoryMiB * MiB,
      NanoCpus: limits.cpuMillicores * 1_000_000,
      // Under host memory pressure the kernel should kill a task before anything else.
      OomScoreAdj: 1000,
      Ulimits: [
        { Name: "nofile", Soft: nofile, Hard: nofile },
        { Name: "fsize", Soft: fsize, Hard: fsize },
      ],
      Mounts: mounts,
      ...((limits.gpuCount ?? 0) > 0
        ? {
            DeviceRequests: [{ Driver: "nvidia", Count: limits.gpuCount, Capabilities: [["gpu"]] }],
          }
        : {}),
      // No /dev/shm (a private IPC namespace would bring a writable 64 MiB one): /tmp is the
      // one scratch space, and it is bounded.
      IpcMode: "none",
      Init: false,
      AutoRemove: false,
      // The engine keeps container logs on the host's disk: bound them too.
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
    },
  };
}

/** Splits Docker's multiplexed log stream and keeps the last `tail` bytes of each side. */
function demuxTail(buffer: Buffer, tail: number): { stdout: string; stderr: string } {
  const parts: Record<1 | 2, Buffer[]> = { 1: [], 2: [] };
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + size);
    if (stream === 1 || stream === 2) parts[stream].push(frame);
    offset += 8 + size;
  }
  const last = (chunks: Buffer[]) => {
    const all = Buffer.concat(chunks);
    return all.subarray(Math.max(0, all.length - tail)).toString("utf8");
  };
  return { stdout: last(parts[1]), stderr: last(parts[2]) };
}

/** Where engines keep a container's pids cgroup (v1/v2, cgroupfs/systemd drivers). */
function pidsEventFiles(id: string): string[] {
  return [
    `/sys/fs/cgroup/pids/docker/${id}/pids.events`,
    `/sys/fs/cgroup/pids/system.slice/docker-${id}.scope/pids.events`,
    `/sys/fs/cgroup/docker/${id}/pids.events`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/pids.events`,
  ];
}

/**
 * Whether the container's processes ever ran into its pids limit: the kernel counts refused
 * forks in the cgroup's `pids.events`, which is exact where a stats sample is only a
 * snapshot (and a slow one). Falls back to the engine's stats where the cgroup file is not
 * where we look.
 */
async function hitProcessLimit(container: Docker.Container, limit: number): Promise<boolean> {
  for (const file of pidsEventFiles(container.id)) {
    try {
      const max = /^max (\d+)$/m.exec(await readFile(file, "utf8"));
      if (max !== null) return Number(max[1]) > 0;
    } catch {
      // not this layout
    }
  }
  try {
    const stats = await dockerCall("read container stats", 3_000, (abortSignal) =>
      container.stats({ stream: false, "one-shot": true, abortSignal } as object),
    );
    const pids = (stats as { pids_stats?: { current?: number } }).pids_stats?.current;
    return pids !== undefined && pids >= limit;
  } catch {
    return false; // only a hint
  }
}

/**
 * The last lines of the task's stdout and of its stderr, each read on its own: with one
 * combined read, a task chatty on stdout would push its error message out of the tail.
 */
async function readLogs(
  container: Docker.Container,
  apiTimeoutMs: number,
  tailBytes: number,
  log: Logger,
): Promise<{ stdout: string; stderr: string }> {
  const read = async (stream: "stdout" | "stderr"): Promise<string> => {
    try {
      const raw = await dockerCall(`read container ${stream}`, apiTimeoutMs, (abortSignal) =>
        container.logs({
          stdout: stream === "stdout",
          stderr: stream === "stderr",
          tail: 200,
          follow: false,
          abortSignal,
        } as { follow?: false }),
      );
      return demuxTail(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), tailBytes)[stream];
    } catch (error) {
      log.warn("could not read task logs", { stream, error: describeError(error) });
      return "";
    }
  };
  return { stdout: await read("stdout"), stderr: await read("stderr") };
}

/** Sends SIGKILL once, remembering why; a later cause does not replace the first. */
class Killer {
  cause: KillCause | undefined;
  running = true;

  readonly #container: Docker.Container;
  readonly #apiTimeoutMs: number;
  readonly #log: Logger;

  constructor(container: Docker.Container, apiTimeoutMs: number, log: Logger) {
    this.#container = container;
    this.#apiTimeoutMs = apiTimeoutMs;
    this.#log = log;
  }

  async kill(cause: KillCause): Promise<void> {
    if (this.cause !== undefined || !this.running) return;
    this.cause = cause;
    this.#log.info("killing task", { status: cause.status, reason: cause.reason });
    // 409 means "not running": either it already stopped (then `running` turns false as soon
    // as the wait returns) or the engine has not marked it running yet, so try again briefly.
    for (let attempt = 0; attempt < 10 && this.running; attempt++) {
      try {
        await dockerCall("kill a container", this.#apiTimeoutMs, (abortSignal) =>
          this.#container.kill({ signal: "SIGKILL", abortSignal }),
        );
        return;
      } catch (error) {
        const code = dockerStatus(error);
        if (code === 404) return;
        if (code !== 409) {
          this.#log.warn("kill failed", { error: describeError(error) });
          return;
        }
        await sleep(50);
      }
    }
  }
}

/** What running the container showed, before the output is looked at. */
interface ContainerRun {
  unstartable?: string;
  killed?: KillCause;
  exitCode: number | null;
  oomKilled: boolean;
  durationMs: number;
  logs: { stdout: string; stderr: string };
}

/**
 * Starts the container and sees it to its end: the wall-clock timeout, the output watcher and
 * `signal` may kill it. Returns what was observed; the caller removes the container.
 */
async function superviseContainer(
  container: Docker.Container,
  options: RunTaskOptions,
  apiTimeoutMs: number,
  maxEntries: number,
  watch: boolean,
  log: Logger,
): Promise<ContainerRun> {
  const { limits, signal, outputDir } = options;
  const killer = new Killer(container, apiTimeoutMs, log);
  const watcherStop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onTimeout = async () => {
    let reason = `wall-clock timeout of ${limits.timeoutSeconds} s exceeded`;
    // A fork bomb shows up as a task stuck at its process limit: say so in the report.
    if (await hitProcessLimit(container, limits.pids)) {
      reason += `; process limit (${limits.pids}) reached`;
    }
    await killer.kill({ status: "timed-out", reason });
  };
  const onAbort = () =>
    void killer.kill({ status: "cancelled", reason: "cancelled by the worker" });
  const started = performance.now();
  try {
    // Watch from before the start: the task may already be writing while start() returns.
    // Not under a quota: the kernel bounds the output there, and a kill timed by a walk
    // would make the outcome depend on the machine's speed.
    const watcher = watch
      ? watchOutput(outputDir, {
          maxBytes: limits.maxOutputBytes,
          maxEntries,
          pollMs: options.outputPollMs ?? 50,
          signal: watcherStop.signal,
        }).then((violation) => (violation === undefined ? undefined : killer.kill(violation)))
      : Promise.resolve();
    const unstartable = await startContainer(container, apiTimeoutMs);
    if (unstartable === undefined) {
      log.debug("task started", { containerId: container.id });
      timer = setTimeout(() => void onTimeout(), limits.timeoutSeconds * 1000);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      // Bounded even if the engine loses the container: timeout, then the kill, then a grace.
      const waitMs = limits.timeoutSeconds * 1000 + 2 * apiTimeoutMs + 5_000;
      await dockerCall("wait for a container", waitMs, (abortSignal) =>
        container.wait({ condition: "not-running", abortSignal } as object),
      );
    }
    const durationMs = performance.now() - started;
    killer.running = false;
    watcherStop.abort();
    await watcher;
    const killed = killer.cause;
    if (unstartable !== undefined) {
      return { unstartable, exitCode: null, oomKilled: false, durationMs, logs: NO_LOGS };
    }
    const info = await dockerCall("inspect a container", apiTimeoutMs, (abortSignal) =>
      container.inspect({ abortSignal } as object),
    );
    const logs = await readLogs(container, apiTimeoutMs, options.logTailBytes ?? 8192, log);
    return {
      ...(killed === undefined ? {} : { killed }),
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      durationMs,
      logs,
    };
  } finally {
    killer.running = false;
    watcherStop.abort();
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Starts the container; returns why the job's own argv cannot be executed in its image (a
 * task outcome, not an engine fault), or undefined once it runs.
 */
async function startContainer(
  container: Docker.Container,
  apiTimeoutMs: number,
): Promise<string | undefined> {
  try {
    await dockerCall("start a container", apiTimeoutMs, (abortSignal) =>
      container.start({ abortSignal } as object),
    );
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (dockerStatus(error) !== 400 || !/exec: /.test(message)) throw error;
    return message.slice(message.indexOf("exec: ")).replace(/: unknown$/, "");
  }
}

async function removeContainer(container: Docker.Container, apiTimeoutMs: number, log: Logger) {
  try {
    await dockerCall("remove a container", apiTimeoutMs, (abortSignal) =>
      container.remove({ force: true, v: true, abortSignal } as object),
    );
  } catch (error) {
    if (dockerStatus(error) !== 404) {
      log.warn("could not remove container", {
        containerId: container.id,
        error: describeError(error),
      });
    }
  }
}

/** The authoritative look at /output once nothing can change it: lstat only, never followed. */
async function checkOutput(
  outputDir: string,
  bounds: { maxBytes: number; maxEntries: number },
): Promise<OutputCheck> {
  try {
    if (process.getuid?.() !== 0) await makeOutputReadable(outputDir);
    await scanOutput(outputDir, bounds);
    return { ok: true };
  } catch (error) {
    if (isConunError(error)) {
      const status = error.code === "output-too-large" ? "output-too-large" : "invalid-output";
      return { ok: false, status, reason: error.message };
    }
    // e.g. EACCES: a file another uid wrote and locked; the host cannot hash it.
    return {
      ok: false,
      status: "invalid-output",
      reason: `output cannot be read: ${describeError(error)}`,
    };
  }
}

/**
 * The final look at an output on its quota file system, walked whole (the file system bounds
 * the walk) so that the status does not depend on the order the walk meets things in: any
 * entry that is not a plain file or directory makes it invalid, else a total past a cap makes
 * it too large.
 */
async function checkBoundedOutput(
  mountPoint: string,
  bounds: { maxBytes: number; maxEntries: number },
): Promise<{ check: OutputCheck; bytes: number }> {
  let scan: Awaited<ReturnType<typeof scanOutput>>;
  try {
    scan = await scanOutput(mountPoint);
  } catch (error) {
    const usage = await measureOutput(mountPoint, {
      maxBytes: Number.MAX_SAFE_INTEGER,
      maxEntries: Number.MAX_SAFE_INTEGER,
    });
    const reason = isConunError(error)
      ? error.message
      : `output cannot be read: ${describeError(error)}`;
    return { check: { ok: false, status: "invalid-output", reason }, bytes: usage.bytes };
  }
  const bytes = scan.totalBytes;
  if (bytes > bounds.maxBytes) {
    const reason = `output exceeds ${bounds.maxBytes} bytes (${bytes} written)`;
    return { check: { ok: false, status: "output-too-large", reason }, bytes };
  }
  if (scan.entries > bounds.maxEntries) {
    const reason = `output has more than ${bounds.maxEntries} entries (${scan.entries})`;
    return { check: { ok: false, status: "output-too-large", reason }, bytes };
  }
  return { check: { ok: true }, bytes };
}

const NO_LOGS = { stdout: "", stderr: "" };

/**
 * Runs one task in a fresh, locked-down container and reports how it ended. The container
 * has no network, a read-only root, a small noexec /tmp, no capabilities, no new privileges,
 * a non-root user, CPU/memory/pids/file-size/open-file limits, inputs read-only at /input
 * and a fresh /output. The run is bounded by a wall-clock timeout and by `signal`; /output
 * by a file system of the task's size (root worker, output-quota.ts), else by a watcher that
 * kills the task once /output grows past its cap. After the container is gone,
 * /output is checked with lstat only: a symlink, device, fifo or socket makes the output
 * invalid, and nothing the task wrote is ever followed or executed by the host.
 *
 * Task outcomes (a crash, a timeout, an OOM kill, …) are results, not errors; only a bad
 * request or an engine failure throws (ExecutionError). Three parts: the container run
 * (superviseContainer), the output watch (watchOutput) and the outcome, a pure function of
 * what they observed (classifyOutcome).
 */
export async function runTask(options: RunTaskOptions): Promise<TaskResult> {
  const user = validate(options);
  const { docker, limits, signal, outputDir } = options;
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const maxEntries = limits.maxOutputEntries ?? 10_000;
  const log = (options.logger ?? silentLogger).child("execution", {
    jobId: options.labels?.jobId,
    taskIndex: options.labels?.taskIndex,
  });
  if (signal?.aborted) {
    return {
      status: "cancelled",
      exitCode: null,
      reason: "cancelled before start",
      durationMs: 0,
      outputBytes: 0,
      logs: NO_LOGS,
    };
  }
  // First, so that a worker that cannot bound the output refuses before anything exists.
  const quota = await outputFsFor(options, user, maxEntries, log);
  try {
    await prepareOutputDir(outputDir, user, log).catch((cause: unknown) => {
      throw new ExecutionError("task-invalid", `cannot create the output directory ${outputDir}`, {
        cause,
        details: { outputDir },
      });
    });
    const spec = containerSpec(options, user, quota?.mountPoint ?? outputDir);
    const container = await dockerCall("create a container", apiTimeoutMs, (abortSignal) =>
      docker.createContainer({ ...spec, abortSignal } as Docker.ContainerCreateOptions),
    );
    let run: ContainerRun;
    try {
      run = await superviseContainer(
        container,
        options,
        apiTimeoutMs,
        maxEntries,
        quota === undefined,
        log,
      );
    } finally {
      await removeContainer(container, apiTimeoutMs, log);
    }
    // The container and every process in it are gone: /output can no longer change under us.
    const result =
      quota === undefined
        ? await finishUnbounded(run, options, maxEntries, log)
        : await finishBounded(run, options, quota, user, maxEntries);
    const outcome: TaskResult = { ...result, containerId: container.id };
    log.info("task finished", {
      status: outcome.status,
      exitCode: run.exitCode,
      durationMs: outcome.durationMs,
      outputBytes: outcome.outputBytes,
    });
    return outcome;
  } finally {
    await quota?.release().catch((error: unknown) =>
      log.error("could not remove the output file system", {
        mountPoint: quota.mountPoint,
        error: describeError(error),
      }),
    );
  }
}

/** The task's quota file system, or undefined where /output is bounded by the watcher alone. */
async function outputFsFor(
  options: RunTaskOptions,
  user: { uid: number; gid: number },
  maxEntries: number,
  log: Logger,
): Promise<OutputFs | undefined> {
  const mode = options.outputQuota ?? "auto";
  if (mode === "off" || (mode === "auto" && process.getuid?.() !== 0)) return undefined;
  return mountOutputFs({
    outputDir: options.outputDir,
    ...(options.labels?.workerId === undefined ? {} : { workerId: options.labels.workerId }),
    maxBytes: options.limits.maxOutputBytes,
    maxEntries,
    owner: user,
    logger: log,
  }).catch((cause: unknown) => {
    if (cause instanceof ExecutionError) throw cause;
    // Not the mechanism but the place: e.g. outputDir's parent does not exist.
    throw new ExecutionError(
      "task-invalid",
      `cannot make the output file system beside ${options.outputDir}`,
      { cause, details: { outputDir: options.outputDir } },
    );
  });
}

type Finished = Omit<TaskResult, "containerId">;

/**
 * The outcome of a task whose output was on its quota file system: checked there, moved into
 * `outputDir` when it passed (so callers read a plain folder, as without a quota), and left
 * behind with the file system otherwise.
 */
async function finishBounded(
  run: ContainerRun,
  options: RunTaskOptions,
  quota: OutputFs,
  user: { uid: number; gid: number },
  maxEntries: number,
): Promise<Finished> {
  const facts = { ...run, memoryMiB: options.limits.memoryMiB, outputBounded: true };
  const checked = needsOutputCheck(facts)
    ? await checkBoundedOutput(quota.mountPoint, {
        maxBytes: options.limits.maxOutputBytes,
        maxEntries,
      })
    : undefined;
  const { status, reason } = classifyOutcome(
    checked === undefined ? facts : { ...facts, output: checked.check },
  );
  if (checked?.check.ok && status !== "cancelled") {
    await moveOutput(quota.mountPoint, options.outputDir, user);
  }
  return {
    status,
    exitCode: run.exitCode,
    reason,
    durationMs: Math.round(run.durationMs),
    outputBytes: checked?.bytes ?? 0,
    logs: run.logs,
  };
}

/** The outcome of a task whose /output was a plain host folder, bounded by the watcher. */
async function finishUnbounded(
  run: ContainerRun,
  options: RunTaskOptions,
  maxEntries: number,
  log: Logger,
): Promise<Finished> {
  const { outputDir, limits } = options;
  const usage = await measureOutput(outputDir, {
    maxBytes: Number.MAX_SAFE_INTEGER,
    maxEntries: maxEntries + 1,
  });
  const facts = { ...run, memoryMiB: limits.memoryMiB };
  const output = needsOutputCheck(facts)
    ? await checkOutput(outputDir, { maxBytes: limits.maxOutputBytes, maxEntries })
    : undefined;
  const { status, reason } = classifyOutcome(output === undefined ? facts : { ...facts, output });
  const outcome: Finished = {
    status,
    exitCode: run.exitCode,
    reason,
    durationMs: Math.round(run.durationMs),
    outputBytes: usage.bytes,
    logs: run.logs,
  };
  if (discardsOutput(outcome, run.killed)) {
    // Useless and possibly large (or, unmeasurable, possibly a hidden flood): give the disk
    // back now rather than when the job ends.
    await removeOutput(outputDir, { keepRoot: true }).catch((error: unknown) =>
      log.warn("could not discard an oversized output", { outputDir, error: describeError(error) }),
    );
  }
  return outcome;
}
