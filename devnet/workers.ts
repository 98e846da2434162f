// The devnet's providers: `conun-worker` processes started exactly as a provider starts one
// (`node worker/src/cli.ts run --config …`; one with a test fault through
// worker/src/testing/faulty-worker.ts --fault <mode>), each with its own data folder and config
// file, on the devnet's chain and content store; and the waits for them to be registered and staked.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { formatConun } from "../requester/manage.ts";
import { ProviderRegistry__factory } from "../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { workerArgv } from "../worker/src/testing/argv.ts";
import { type Chain, REPO } from "./chain.ts";
import { DevnetStartError } from "./teardown.ts";

const run = promisify(execFile);
export const WORKER_CLI = path.join(REPO, "worker", "src", "cli.ts");

/** What a worker's configuration names of the chain: where it is, its contracts, the keys. */
export type WorkerChain = Pick<Chain, "url" | "chainId" | "deployment" | "keys" | "wallets">;

export interface WorkerProcess {
  name: string;
  account: number;
  address: string;
  /** The test fault it runs with (`none` for an honest provider). */
  fault: string;
  pid: number;
  dataDir: string;
  configPath: string;
  /** Where its output goes, when it goes to a file. */
  logFile?: string;
  child: ChildProcess;
  /** The last megabyte or two of what the worker logged. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 30 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL, no chance to clean up. */
  kill(): Promise<void>;
}

/** A worker whose output goes to its log file (the demo's, the end-to-end test's and bench's). */
export type RunningWorker = WorkerProcess & { logFile: string };

interface SpawnWorker {
  name: string;
  account: number;
  address: string;
  fault: string;
  dataDir: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
  logFile?: string;
}

function spawnWorker(spec: SpawnWorker): WorkerProcess {
  // A worker with a test fault runs worker/src/testing/faulty-worker.ts, the plain CLI otherwise.
  const argv = workerArgv(spec.fault, ["run", "--config", spec.configPath]);
  const child = spawn(process.execPath, argv, {
    cwd: REPO,
    env: spec.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  if (spec.logFile !== undefined) {
    const logStream = createWriteStream(spec.logFile, { flags: "a" });
    child.stdout?.pipe(logStream);
    child.stderr?.pipe(logStream);
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const { env: _env, ...described } = spec;
  return {
    ...described,
    pid: child.pid ?? -1,
    child,
    output: () => output,
    exited,
    stop: async (graceMs = 30_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

function account(chain: WorkerChain, index: number): { key: string; address: string } {
  const key = chain.keys[index];
  const wallet = chain.wallets[index];
  if (key === undefined || wallet === undefined)
    throw new DevnetStartError("no-accounts", `no account ${index}`);
  return { key, address: wallet.address };
}

function contractsOf(chain: WorkerChain) {
  const { token, registry, market, startBlock } = chain.deployment;
  return { token, registry, market, startBlock };
}

export interface WorkerSpec {
  name: string;
  /** Index of the development wallet the worker uses. */
  account: number;
  fault?: "none" | "wrong-results";
  /** Extra config fields (capacity, pricing …). */
  config?: Record<string, unknown>;
}

/**
 * Starts one worker per spec with the worker's own defaults (info logs, a 250 ms poll), each
 * with its key in its config file and its output in `<dir>/<name>/worker.log`.
 */
export async function startWorkers(
  chain: WorkerChain,
  specs: WorkerSpec[],
  options: { dir: string; contentDir: string; subgraphUrl?: string },
): Promise<RunningWorker[]> {
  const started: RunningWorker[] = [];
  for (const spec of specs) {
    const { key, address } = account(chain, spec.account);
    const home = path.join(options.dir, spec.name);
    await mkdir(home, { recursive: true });
    const dataDir = path.join(home, "data");
    const config = {
      rpcUrl: chain.url,
      chainId: chain.chainId,
      contracts: contractsOf(chain),
      key: { devKey: key },
      ...(options.subgraphUrl === undefined ? {} : { subgraphUrl: options.subgraphUrl }),
      contentStore: { kind: "local", dir: options.contentDir },
      dataDir,
      log: { level: "info", json: true },
      pollIntervalMs: 250,
      ...spec.config,
    };
    const configPath = path.join(home, "config.json");
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const logFile = path.join(home, "worker.log");
    const worker = spawnWorker({
      name: spec.name,
      account: spec.account,
      address,
      fault: spec.fault ?? "none",
      dataDir,
      configPath,
      logFile,
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    started.push({ ...worker, logFile });
  }
  return started;
}

/** Where a test worker runs: the chain, a folder for its data, the shared content store. */
export interface WorkerSite {
  node: WorkerChain;
  dir: string;
  storeDir: string;
}

export interface WorkerOptions {
  name: string;
  account: number;
  rpcUrl?: string;
  fault?: string;
  slots?: number;
  metricsPort?: number;
  /** Reuse a data folder (a restart). */
  dataDir?: string;
  extra?: Record<string, unknown>;
}

/**
 * Writes a test worker's config: quick polls and timeouts, debug logs, 2 slots, a 100 CONUN
 * stake target; its key comes from the environment (CONUN_WORKER_DEV_KEY).
 */
export async function writeWorkerConfig(site: WorkerSite, options: WorkerOptions) {
  const dataDir = options.dataDir ?? path.join(site.dir, `worker-${options.name}`);
  await mkdir(dataDir, { recursive: true });
  const config = {
    rpcUrl: options.rpcUrl ?? site.node.url,
    chainId: site.node.chainId,
    contracts: contractsOf(site.node),
    contentStore: { kind: "local", dir: site.storeDir },
    dataDir,
    capacity: { slots: options.slots ?? 2, cpuMillicores: 2000, memoryMiB: 2048, gpuCount: 0 },
    stake: { target: "100" },
    pollIntervalMs: 200,
    rpcTimeoutMs: 2000,
    receiptTimeoutMs: 5000,
    metrics: { port: options.metricsPort ?? 0 },
    log: { level: "debug", json: true },
    ...options.extra,
  };
  const configPath = path.join(dataDir, "config.json");
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { dataDir, configPath };
}

/** Starts a test worker (see writeWorkerConfig); its output is kept in memory. */
export async function startWorkerProcess(
  site: WorkerSite,
  options: WorkerOptions,
): Promise<WorkerProcess> {
  const { dataDir, configPath } = await writeWorkerConfig(site, options);
  const { key, address } = account(site.node, options.account);
  return spawnWorker({
    name: options.name,
    account: options.account,
    address,
    fault: options.fault ?? "none",
    dataDir,
    configPath,
    env: { ...process.env, CONUN_WORKER_DEV_KEY: key },
  });
}

/**
 * Waits until every worker is registered with stake, and with at least `minFreeStake` of it
 * free (default: any), or until one exits. After a job, a slashed worker tops its stake back
 * up on its own schedule: waiting for the free stake a next job needs keeps that job from
 * ending Unfilled for want of stake.
 */
export async function waitForWorkersReady(
  chain: Pick<Chain, "deployment" | "provider">,
  workers: WorkerProcess[],
  timeoutMs = 60_000,
  minFreeStake = 0n,
): Promise<void> {
  const registry = ProviderRegistry__factory.connect(chain.deployment.registry, chain.provider);
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(workers);
  const seeLogs = (worker: WorkerProcess) =>
    worker.logFile === undefined ? "" : `; see ${worker.logFile}`;
  while (pending.size > 0) {
    for (const worker of [...pending]) {
      if (worker.child.exitCode !== null) {
        throw new DevnetStartError(
          "worker-failed",
          `worker ${worker.name} exited with code ${worker.child.exitCode}${seeLogs(worker)}`,
        );
      }
      const info = await registry.getProvider(worker.address).catch(() => undefined);
      const free =
        minFreeStake > 0n ? await registry.freeStakeOf(worker.address).catch(() => 0n) : 0n;
      if (info?.registered && info.stake > 0n && free >= minFreeStake) pending.delete(worker);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new DevnetStartError(
        "worker-failed",
        `worker(s) ${[...pending].map((w) => w.name).join(", ")} did not register and stake${minFreeStake > 0n ? ` ${formatConun(minFreeStake)} free` : ""} within ${timeoutMs / 1000} s; see their logs`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  onTimeout?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const extra = onTimeout ? `\n${onTimeout()}` : "";
  throw new Error(
    `timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}${extra}`,
  );
}

/** The last lines of each worker's log, for failure messages. */
export function tails(workers: WorkerProcess[], lines = 40): string {
  return workers
    .map((w) => `--- ${w.name} ---\n${w.output().trimEnd().split("\n").slice(-lines).join("\n")}`)
    .join("\n");
}

/**
 * Checks the Docker engine answers (`npm run demo` and `npm test` provision it first with
 * scripts/provision.sh; this catches a caller that did not, or an engine that stopped since).
 */
export async function checkDocker(): Promise<string> {
  try {
    const { stdout } = await run("docker", ["version", "--format", "{{.Server.Version}}"], {
      timeout: 15_000,
    });
    return stdout.trim();
  } catch (cause) {
    const error = cause as NodeJS.ErrnoException & { stderr?: string };
    const detail = error.stderr?.trim().split("\n")[0];
    throw new DevnetStartError(
      error.code === "ENOENT" ? "docker-missing" : "docker-not-running",
      `${error.code === "ENOENT" ? "Docker is not installed" : `the Docker engine does not answer${detail ? ` (${detail})` : ""}`}. ` +
        "Providers run every task in a Docker container. `sh scripts/provision.sh demo` installs " +
        "and starts one (as root with apt-get), or prints the commands for this machine.",
      { cause },
    );
  }
}
