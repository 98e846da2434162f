// The worker's settings: one zod schema, validated once at start-up. Every message is phrased to
// follow the setting's dotted path (`capacity.slots: must be ≥ 1`).
import os from "node:os";
import { z } from "zod";
import { type ContentStoreOptions, tcpAddressProblem } from "../../../sdk/content/index.ts";

const LOCAL_CHAIN_ID = 31337;

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { message: "must be a 0x address (20 bytes)" });
const decimal = z
  .string()
  .regex(/^\d+(\.\d{1,18})?$/, { message: 'must be a decimal amount of CONUN, e.g. "1.5"' });
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ invalid_type_error: "must be a number" })
    .int({ message: "must be an integer" })
    .min(min, { message: `must be ≥ ${min}` })
    .max(max, { message: `must be ≤ ${max}` });

/** Machine defaults: what the host really has, leaving room for the OS and the worker. */
export function machineDefaults() {
  const cpus = Math.max(1, os.availableParallelism());
  return {
    slots: cpus,
    cpuMillicores: cpus * 1000,
    memoryMiB: Math.max(256, Math.floor((os.totalmem() / 1024 / 1024) * 0.75)),
  };
}

/** Defaults of the `limits` section (MiB). */
export const DISK_LIMIT_DEFAULTS = {
  maxOutputMiB: 4096,
  diskBudgetMiB: 51_200,
  minFreeDiskMiB: 2048,
  maxImageMiB: 8192,
  imageCacheMiB: 20_480,
} as const;

/** A libp2p address the embedded IPFS node can use (sdk/content/addresses.ts). */
const tcpMultiaddr = (what: "listen" | "peer") =>
  z.string().superRefine((value, ctx) => {
    const problem = tcpAddressProblem(value, what);
    if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });

const IPFS_ONLY = ["listen", "peers", "fetchTimeoutMs"] as const;

/**
 * Where the worker reads job content and stores results. `local`: a directory shared with the
 * requester (one machine or a shared file system). `ipfs`: the same directory plus an embedded
 * IPFS node (sdk/content ipfs.ts) that fetches missing blocks over Bitswap from its peers and
 * serves what it holds, so a requester on another machine can fetch the results bundles.
 */
const contentStoreSchema = z
  .object({
    kind: z.enum(["local", "ipfs"]).default("local"),
    dir: z.string({ required_error: "is required" }).min(1, { message: "is required" }),
    /** libp2p listen addresses (default: one OS-chosen port on 127.0.0.1). */
    listen: z
      .array(tcpMultiaddr("listen"))
      .min(1, { message: "must list at least one address" })
      .optional(),
    /** Nodes to connect to at start: the requester's node, a shared node, other workers. */
    peers: z.array(tcpMultiaddr("peer")).optional(),
    /** How long a read waits for a block from peers (default 30 s). */
    fetchTimeoutMs: int(100, 3_600_000).optional(),
  })
  .strict({ message: "unknown setting" })
  .superRefine((store, ctx) => {
    if (store.kind !== "local") return;
    for (const key of IPFS_ONLY) {
      if (store[key] === undefined) continue;
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [key],
        message: 'is only used with contentStore.kind "ipfs"',
      });
    }
  })
  .transform(
    (store): ContentStoreOptions =>
      store.kind === "local"
        ? { kind: "local", dir: store.dir }
        : {
            kind: "ipfs",
            dir: store.dir,
            ...(store.listen !== undefined ? { listen: store.listen } : {}),
            ...(store.peers !== undefined ? { peers: store.peers } : {}),
            ...(store.fetchTimeoutMs !== undefined ? { fetchTimeoutMs: store.fetchTimeoutMs } : {}),
          },
  );

export const configSchema = z
  .object({
    rpcUrl: z.string({ required_error: "is required" }).url({ message: "must be a URL" }),
    chainId: int(1),
    /** Contract addresses; default: sdk/protocol/deployments.ts readDeployment(chainId). */
    contracts: z
      .object({
        token: address,
        registry: address,
        market: address,
        startBlock: int(0).default(0),
      })
      .strict()
      .optional(),
    /** Where Ignition's deployments live (default: the repository's ignition/deployments). */
    deploymentsDir: z.string().optional(),
    key: z
      .object({
        /** An encrypted JSON keystore (ethers / geth format). */
        keystore: z.string().min(1).optional(),
        password: z.string().optional(),
        passwordFile: z.string().optional(),
        /** A raw private key: development chains (31337) only. */
        devKey: z
          .string()
          .regex(/^0x[0-9a-fA-F]{64}$/, { message: "must be 0x + 64 hex digits" })
          .optional(),
      })
      .strict({ message: "unknown setting" })
      .default({}),
    subgraphUrl: z.string().url({ message: "must be a URL" }).optional(),
    contentStore: contentStoreSchema,
    dockerSocket: z.string().min(1).default("/var/run/docker.sock"),
    capacity: z
      .object({
        slots: int(1, 256).optional(),
        cpuMillicores: int(1).optional(),
        memoryMiB: int(1).optional(),
        /** GPUs to offer; default: what nvidia-smi lists (0 without it). */
        gpuCount: int(0, 65535).optional(),
        /** Task-replicas held at once over all jobs bid on and not yet committed. */
        maxTaskReplicas: int(1).optional(),
      })
      .strict()
      .default({}),
    stake: z
      .object({
        /** Keep at least this much staked (tops up from the wallet when below). */
        target: decimal.default("100"),
      })
      .strict()
      .default({}),
    pricing: z
      .object({
        /** CONUN per CPU-second of the job's worst case (cores × timeout). */
        floorPerCpuSecond: decimal.default("0.001"),
        /** Added on top of the floor, as a fraction (0.2 = +20 %). */
        margin: z
          .number({ invalid_type_error: "must be a number" })
          .min(0, { message: "must be ≥ 0" })
          .max(10, { message: "must be ≤ 10" })
          .default(0.2),
        /** Never bid below this per task-replica. */
        minPerTask: decimal.default("0.01"),
      })
      .strict()
      .default({}),
    dataDir: z.string().min(1, { message: "is required" }),
    /**
     * What the worker lets jobs cost its disk, whatever their manifests ask (MiB). A job is
     * bid on only for as many task-replicas as fit both the budget and the free disk.
     */
    limits: z
      .object({
        /** The largest `resources.maxOutputBytes` a job may declare per task. */
        maxOutputMiB: int(1).default(DISK_LIMIT_DEFAULTS.maxOutputMiB),
        /** Job data held at once: inputs, outputs, bundles and their store blocks. */
        diskBudgetMiB: int(1).default(DISK_LIMIT_DEFAULTS.diskBudgetMiB),
        /** Free space the data directory's file system always keeps after a bid. */
        minFreeDiskMiB: int(0).default(DISK_LIMIT_DEFAULTS.minFreeDiskMiB),
        /** The largest image archive loaded from the content store for a job. */
        maxImageMiB: int(1).default(DISK_LIMIT_DEFAULTS.maxImageMiB),
        /**
         * Images this worker pulled or loaded for jobs, kept for later jobs up to this size;
         * past it the least recently used that no active job holds are removed.
         */
        imageCacheMiB: int(0).default(DISK_LIMIT_DEFAULTS.imageCacheMiB),
        /**
         * How long an ended job's results bundle stays in an `ipfs` content store for its
         * requester to fetch; what the job fetched (manifest, inputs, image archive) goes at
         * clean-up. A `local` store is taken as shared and is never collected.
         */
        keepResultsHours: int(0).default(72),
        /**
         * How a task's output is held to its cap (README "Provider limits"): `auto` gives each
         * task a file system of its size where the worker can mount one (root) and otherwise
         * falls back to the output watcher, saying so; `required` refuses every job instead
         * of falling back; `off` always uses the watcher (no hard limit).
         */
        outputQuota: z
          .enum(["auto", "required", "off"], {
            errorMap: () => ({ message: 'must be "auto", "required" or "off"' }),
          })
          .default("auto"),
      })
      .strict({ message: "unknown setting" })
      .default({}),
    log: z
      .object({
        level: z.enum(["debug", "info", "warn", "error"]).default("info"),
        json: z.boolean().default(false),
      })
      .strict()
      .default({}),
    metrics: z
      .object({
        /** Loopback port of the Prometheus endpoint; 0 = off. */
        port: int(0, 65535).default(0),
      })
      .strict()
      .default({}),
    pollIntervalMs: int(50, 600_000).default(1000),
    rpcTimeoutMs: int(100, 600_000).default(10_000),
    receiptTimeoutMs: int(100, 3_600_000).default(30_000),
    /** Blocks scanned back for open jobs at start when there is no subgraph. */
    lookbackBlocks: int(0).default(50_000),
  })
  .strict({ message: "unknown setting" })
  .superRefine((config, ctx) => {
    const { key } = config;
    if (key.keystore === undefined && key.devKey === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["key"],
        message: "needs key.keystore (with a password) or, on chain 31337, key.devKey",
      });
    }
    if (key.keystore !== undefined && key.devKey !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["key"],
        message: "give key.keystore or key.devKey, not both",
      });
    }
    if (
      key.keystore !== undefined &&
      key.password === undefined &&
      key.passwordFile === undefined
    ) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["key", "password"],
        message:
          "is required with key.keystore: set CONUN_WORKER_KEYSTORE_PASSWORD, or key.passwordFile",
      });
    }
    if (key.devKey !== undefined && config.chainId !== LOCAL_CHAIN_ID) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["key", "devKey"],
        message: `a raw key is only allowed on the local chain ${LOCAL_CHAIN_ID}; use key.keystore`,
      });
    }
  });

export type RawConfig = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

/** The validated configuration, with the machine defaults filled in. */
export type WorkerConfig = Omit<Parsed, "capacity"> & {
  capacity: {
    slots: number;
    cpuMillicores: number;
    memoryMiB: number;
    gpuCount: number | undefined;
    maxTaskReplicas: number;
  };
};
