// A local CONUN deployment for the worker's integration tests and benchmark: a Hardhat node in
// its own process, a shared local content store, a test image stored as an `ipfs://` archive,
// jobs posted from real manifests, and workers started as separate processes exactly as a
// provider starts them (`node worker/src/cli.ts run --config …`).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseUnits } from "ethers";
import { openContentStore } from "../sdk/content/index.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import {
  type Manifest,
  manifestBytes,
  manifestDigest,
  parseManifest,
  specFromManifest,
} from "../sdk/manifest/index.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import { busyboxImage, saveImage, type TestImage } from "./images.ts";
import { type LocalNode, ONE, startLocalNode } from "./local-node.ts";

const REPO = path.join(import.meta.dirname, "..");
export const WORKER_CLI = path.join(REPO, "worker", "src", "cli.ts");

export interface Cluster {
  node: LocalNode;
  dir: string;
  storeDir: string;
  store: ContentStore;
  image: TestImage;
  /** `ipfs://<cid>` of the image archive. */
  imageRef: string;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "conun-worker-it-"));
  const storeDir = path.join(dir, "content");
  const image = await busyboxImage();
  const node = await startLocalNode();
  try {
    const store = await openContentStore({ kind: "local", dir: storeDir });
    const archive = await saveImage(image.id, path.join(dir, "image.tar"));
    const imageCid = await store.addFile(archive);
    return {
      node,
      dir,
      storeDir,
      store,
      image,
      imageRef: `ipfs://${imageCid}`,
      stop: async () => {
        await store.close();
        await node.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

/** Account roles on the local node: 0 owner, 1 treasury, 2 requester, 3.. providers. */
export const REQUESTER = 2;
export const FIRST_PROVIDER = 3;

/** Sends each provider account CONUN to stake from. */
export async function fundProviders(cluster: Cluster, accounts: number[], amount = 1000n * ONE) {
  const token = ConunToken__factory.connect(cluster.node.deployment.token, cluster.node.signer(0));
  for (const account of accounts) {
    const wallet = cluster.node.wallets[account];
    if (wallet === undefined) throw new Error(`no account ${account}`);
    await (await token.transfer(wallet.address, amount)).wait();
  }
}

export interface JobOptions {
  /** Shell script run by /bin/sh -c in each task. */
  script?: string;
  taskCount?: number;
  timeoutSeconds?: number;
  cpuMillicores?: number;
  biddingSeconds?: number;
  executionSeconds?: number;
  revealSeconds?: number;
  maxPrice?: string;
  /** The full argv instead of `/bin/sh -c script`. */
  command?: string[];
  /** k (quorum = k/2 + 1); default 3. */
  replication?: number;
  memoryMiB?: number;
  pids?: number;
  /** Another image than the cluster's: its reference and the ID the manifest claims. */
  image?: { ref: string; id: string };
}

export const DEFAULT_SCRIPT = 'echo "task $TASK_INDEX of $TASK_COUNT" > /output/result.txt';

/** Stores a resolved manifest and posts its job as the requester; returns the job id. */
export async function postManifestJob(
  cluster: Cluster,
  options: JobOptions = {},
): Promise<{ jobId: bigint; manifest: Manifest; manifestCid: string }> {
  const manifest = parseManifest(
    {
      version: 1,
      name: "worker-integration",
      deterministic: true,
      image: options.image ?? { ref: cluster.imageRef, id: cluster.image.id },
      command: options.command ?? ["/bin/sh", "-c", options.script ?? DEFAULT_SCRIPT],
      tasks: { count: options.taskCount ?? 1 },
      resources: {
        cpuMillicores: options.cpuMillicores ?? 500,
        memoryMiB: options.memoryMiB ?? 64,
        gpuCount: 0,
        timeoutSeconds: options.timeoutSeconds ?? 20,
        maxOutputBytes: 1 << 20,
        pids: options.pids ?? 32,
      },
      replication: {
        k: options.replication ?? 3,
        quorum: Math.floor((options.replication ?? 3) / 2) + 1,
      },
      price: { maxPerTaskReplica: options.maxPrice ?? "1", stakePerTaskReplica: "10" },
      windows: {
        biddingSeconds: options.biddingSeconds ?? 3600,
        executionSeconds: options.executionSeconds ?? 3600,
        revealSeconds: options.revealSeconds ?? 3600,
      },
    },
    { form: "resolved" },
  );
  const bytes = manifestBytes(manifest);
  const manifestCid = await cluster.store.addBytes(bytes);
  const spec = specFromManifest(manifest, { manifestCid, manifestDigest: manifestDigest(bytes) });
  const requester = cluster.node.signer(REQUESTER);
  const token = ConunToken__factory.connect(cluster.node.deployment.token, cluster.node.signer(0));
  const escrow =
    parseUnits(options.maxPrice ?? "1", 18) * BigInt(spec.taskCount) * BigInt(spec.replication);
  await (await token.transfer(await requester.getAddress(), escrow)).wait();
  await (await token.connect(requester).approve(cluster.node.deployment.market, escrow)).wait();
  const market = JobMarket__factory.connect(cluster.node.deployment.market, requester);
  await (await market.postJob(spec)).wait();
  return { jobId: await market.jobCount(), manifest, manifestCid };
}

export interface WorkerProcess {
  name: string;
  account: number;
  address: string;
  dataDir: string;
  configPath: string;
  child: ChildProcess;
  /** Everything the worker logged so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no chance to clean up. */
  kill(): Promise<void>;
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

export async function writeWorkerConfig(cluster: Cluster, options: WorkerOptions) {
  const dataDir = options.dataDir ?? path.join(cluster.dir, `worker-${options.name}`);
  await mkdir(dataDir, { recursive: true });
  const { deployment } = cluster.node;
  const config = {
    rpcUrl: options.rpcUrl ?? cluster.node.url,
    chainId: cluster.node.chainId,
    contracts: {
      token: deployment.token,
      registry: deployment.registry,
      market: deployment.market,
      startBlock: deployment.startBlock,
    },
    contentStore: { kind: "local", dir: cluster.storeDir },
    dataDir,
    capacity: { slots: options.slots ?? 2, cpuMillicores: 2000, memoryMiB: 2048, gpuCount: 0 },
    stake: { target: "100" },
    pollIntervalMs: 200,
    rpcTimeoutMs: 2000,
    receiptTimeoutMs: 5000,
    metrics: { port: options.metricsPort ?? 0 },
    log: { level: "debug", json: true },
    fault: options.fault ?? "none",
    ...options.extra,
  };
  const configPath = path.join(dataDir, "config.json");
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { dataDir, configPath };
}

export async function startWorkerProcess(
  cluster: Cluster,
  options: WorkerOptions,
): Promise<WorkerProcess> {
  const { dataDir, configPath } = await writeWorkerConfig(cluster, options);
  const key = cluster.node.keys[options.account];
  const wallet = cluster.node.wallets[options.account];
  if (key === undefined || wallet === undefined) throw new Error(`no account ${options.account}`);
  const child = spawn(process.execPath, [WORKER_CLI, "run", "--config", configPath], {
    cwd: REPO,
    env: { ...process.env, CONUN_WORKER_DEV_KEY: key },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    name: options.name,
    account: options.account,
    address: wallet.address,
    dataDir,
    configPath,
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
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
