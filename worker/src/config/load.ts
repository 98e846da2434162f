// Reads the worker's configuration from a JSON file, `CONUN_WORKER_*` environment variables
// and command-line flags (later sources win), validates it once and fills in the machine
// defaults. A bad value becomes a ConfigError whose message names the setting and where it
// came from: `capacity.slots: must be ≥ 1 (from CONUN_WORKER_SLOTS)`.
//
// On a machine running `npm run demo` (its devnet record, sdk/devnet.ts), what none of those
// sources gives of the chain, the contracts, the content store and the subgraph is taken from
// the demo — as long as the configuration does not point at another chain.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ZodIssue } from "zod";
import { type DevnetRecord, devnetFile, readDevnet, sameRpcUrl } from "../../../sdk/devnet.ts";
import { describeError, errorClass } from "../../../sdk/errors.ts";
import { stripJsonComments } from "./jsonc.ts";
import { configSchema, machineDefaults, type WorkerConfig } from "./schema.ts";

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"worker-config", ConfigError> {}
}

/** The worker's configuration, code `config-invalid`: every problem, naming its source. */
export class ConfigError extends errorClass("worker-config", ["config-invalid"]) {
  readonly problems: string[];

  constructor(problems: string[], options: { cause?: unknown } = {}) {
    super("config-invalid", `invalid configuration:\n  ${problems.join("\n  ")}`, {
      ...options,
      details: { problems },
    });
    this.problems = problems;
  }
}

/** `list`: comma-separated values (multiaddrs never contain a comma). */
type Kind = "string" | "int" | "number" | "bool" | "list";

interface Setting {
  path: string;
  env: string;
  flag?: string;
  kind: Kind;
}

/** Every setting that has an environment variable (and, unless secret, a flag). */
export const SETTINGS: readonly Setting[] = [
  { path: "rpcUrl", env: "CONUN_WORKER_RPC_URL", flag: "rpc-url", kind: "string" },
  { path: "chainId", env: "CONUN_WORKER_CHAIN_ID", flag: "chain-id", kind: "int" },
  {
    path: "deploymentsDir",
    env: "CONUN_WORKER_DEPLOYMENTS_DIR",
    flag: "deployments-dir",
    kind: "string",
  },
  { path: "subgraphUrl", env: "CONUN_WORKER_SUBGRAPH_URL", flag: "subgraph-url", kind: "string" },
  { path: "dataDir", env: "CONUN_WORKER_DATA_DIR", flag: "data-dir", kind: "string" },
  {
    path: "contentStore.kind",
    env: "CONUN_WORKER_CONTENT_KIND",
    flag: "content-kind",
    kind: "string",
  },
  {
    path: "contentStore.dir",
    env: "CONUN_WORKER_CONTENT_DIR",
    flag: "content-dir",
    kind: "string",
  },
  {
    path: "contentStore.listen",
    env: "CONUN_WORKER_CONTENT_LISTEN",
    flag: "content-listen",
    kind: "list",
  },
  {
    path: "contentStore.peers",
    env: "CONUN_WORKER_CONTENT_PEERS",
    flag: "content-peers",
    kind: "list",
  },
  {
    path: "contentStore.fetchTimeoutMs",
    env: "CONUN_WORKER_CONTENT_FETCH_TIMEOUT_MS",
    flag: "content-fetch-timeout-ms",
    kind: "int",
  },
  {
    path: "dockerSocket",
    env: "CONUN_WORKER_DOCKER_SOCKET",
    flag: "docker-socket",
    kind: "string",
  },
  { path: "key.keystore", env: "CONUN_WORKER_KEYSTORE", flag: "keystore", kind: "string" },
  // Secrets have no flag: command lines are visible to every user of the machine.
  { path: "key.password", env: "CONUN_WORKER_KEYSTORE_PASSWORD", kind: "string" },
  {
    path: "key.passwordFile",
    env: "CONUN_WORKER_KEYSTORE_PASSWORD_FILE",
    flag: "keystore-password-file",
    kind: "string",
  },
  { path: "key.devKey", env: "CONUN_WORKER_DEV_KEY", kind: "string" },
  { path: "capacity.slots", env: "CONUN_WORKER_SLOTS", flag: "slots", kind: "int" },
  {
    path: "capacity.cpuMillicores",
    env: "CONUN_WORKER_CPU_MILLICORES",
    flag: "cpu-millicores",
    kind: "int",
  },
  { path: "capacity.memoryMiB", env: "CONUN_WORKER_MEMORY_MIB", flag: "memory-mib", kind: "int" },
  { path: "capacity.gpuCount", env: "CONUN_WORKER_GPU_COUNT", flag: "gpu-count", kind: "int" },
  {
    path: "capacity.maxTaskReplicas",
    env: "CONUN_WORKER_MAX_TASK_REPLICAS",
    flag: "max-task-replicas",
    kind: "int",
  },
  { path: "stake.target", env: "CONUN_WORKER_STAKE_TARGET", flag: "stake-target", kind: "string" },
  {
    path: "pricing.floorPerCpuSecond",
    env: "CONUN_WORKER_PRICE_FLOOR_PER_CPU_SECOND",
    flag: "price-floor-per-cpu-second",
    kind: "string",
  },
  {
    path: "pricing.margin",
    env: "CONUN_WORKER_PRICE_MARGIN",
    flag: "price-margin",
    kind: "number",
  },
  {
    path: "pricing.minPerTask",
    env: "CONUN_WORKER_PRICE_MIN_PER_TASK",
    flag: "price-min-per-task",
    kind: "string",
  },
  { path: "log.level", env: "CONUN_WORKER_LOG_LEVEL", flag: "log-level", kind: "string" },
  { path: "log.json", env: "CONUN_WORKER_LOG_JSON", flag: "log-json", kind: "bool" },
  { path: "metrics.port", env: "CONUN_WORKER_METRICS_PORT", flag: "metrics-port", kind: "int" },
  {
    path: "pollIntervalMs",
    env: "CONUN_WORKER_POLL_INTERVAL_MS",
    flag: "poll-interval-ms",
    kind: "int",
  },
  { path: "rpcTimeoutMs", env: "CONUN_WORKER_RPC_TIMEOUT_MS", flag: "rpc-timeout-ms", kind: "int" },
  {
    path: "receiptTimeoutMs",
    env: "CONUN_WORKER_RECEIPT_TIMEOUT_MS",
    flag: "receipt-timeout-ms",
    kind: "int",
  },
  {
    path: "lookbackBlocks",
    env: "CONUN_WORKER_LOOKBACK_BLOCKS",
    flag: "lookback-blocks",
    kind: "int",
  },
];

export interface LoadConfigOptions {
  /** Path of the JSON configuration file (relative paths inside it resolve against its folder). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by flag name (`slots` → "4"); booleans as true. */
  flags?: Record<string, string | boolean | undefined>;
  /** GPUs found on the machine, the default for capacity.gpuCount. */
  detectedGpus?: number;
  /**
   * A running demo to take missing chain settings from. Default: the live devnet record at
   * CONUN_DEVNET_FILE (in `env`) or .conun/devnet.json; `null`: none (hermetic tests).
   */
  devnet?: DevnetRecord | null;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<WorkerConfig> {
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  if (options.file !== undefined) {
    let text: string;
    try {
      text = await readFile(options.file, "utf8");
    } catch (cause) {
      throw new ConfigError([`--config: cannot read ${options.file}`], { cause });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(stripJsonComments(text));
    } catch (cause) {
      throw new ConfigError([`--config: ${options.file} is not valid JSON`], { cause });
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ConfigError([`--config: ${options.file} must hold a JSON object`]);
    }
    const fromFile = parsed as Record<string, unknown>;
    if ("fault" in fromFile) {
      // Test fault modes are not settings: worker/src/testing/faulty-worker.ts injects them.
      throw new ConfigError([
        "fault: not a setting; test fault modes run through worker/src/testing/faulty-worker.ts --fault <mode>",
      ]);
    }
    Object.assign(raw, resolvePaths(fromFile, path.dirname(options.file)));
  }
  const env = options.env ?? {};
  for (const setting of SETTINGS) {
    const value = env[setting.env];
    if (value === undefined || value === "") continue;
    set(raw, setting, convert(value, setting.kind), sources, setting.env);
  }
  for (const setting of SETTINGS) {
    if (setting.flag === undefined) continue;
    const value = options.flags?.[setting.flag];
    if (value === undefined) continue;
    const converted = typeof value === "boolean" ? value : convert(value, setting.kind);
    set(raw, setting, converted, sources, `--${setting.flag}`);
  }
  fillFromDevnet(raw, sources, options, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, sources)));
  }
  const parsed = result.data;
  const machine = machineDefaults();
  const slots = parsed.capacity.slots ?? machine.slots;
  return {
    ...parsed,
    capacity: {
      slots,
      cpuMillicores: parsed.capacity.cpuMillicores ?? machine.cpuMillicores,
      memoryMiB: parsed.capacity.memoryMiB ?? machine.memoryMiB,
      gpuCount: parsed.capacity.gpuCount ?? options.detectedGpus,
      maxTaskReplicas: parsed.capacity.maxTaskReplicas ?? slots * 32,
    },
  };
}

/**
 * Fills rpcUrl, chainId, contracts, contentStore.dir and subgraphUrl from a running demo when
 * none of the sources gave them and the configuration targets the demo's chain (no chain id or
 * rpcUrl, or the demo's own). A given `deploymentsDir` means "read Ignition's records": then the
 * contracts are left to it.
 */
function fillFromDevnet(
  raw: Record<string, unknown>,
  sources: Map<string, string>,
  options: LoadConfigOptions,
  env: NodeJS.ProcessEnv,
): void {
  let record: DevnetRecord | undefined;
  if (options.devnet === undefined) {
    try {
      record = readDevnet({ env });
    } catch (cause) {
      throw new ConfigError([`devnet record: ${describeError(cause)}`], { cause });
    }
  } else {
    record = options.devnet ?? undefined;
  }
  if (record === undefined) return;
  if (raw.chainId !== undefined && raw.chainId !== record.chainId) return;
  if (typeof raw.rpcUrl === "string" && !sameRpcUrl(raw.rpcUrl, record.rpcUrl)) return;
  if (raw.rpcUrl !== undefined && typeof raw.rpcUrl !== "string") return;
  const source = `the running demo's record ${options.devnet === undefined ? devnetFile(env) : "(given)"}`;
  const fill = (key: string, value: unknown) => {
    if (raw[key] !== undefined) return;
    raw[key] = value;
    sources.set(key, source);
  };
  fill("rpcUrl", record.rpcUrl);
  fill("chainId", record.chainId);
  if (raw.deploymentsDir === undefined) fill("contracts", { ...record.deployment });
  fill("subgraphUrl", record.subgraphUrl);
  const store = raw.contentStore;
  if (store === undefined) {
    raw.contentStore = { kind: "local", dir: record.contentDir };
    sources.set("contentStore", source);
  } else if (store !== null && typeof store === "object" && !Array.isArray(store)) {
    const fields = store as Record<string, unknown>;
    if (fields.dir === undefined) {
      fields.dir = record.contentDir;
      sources.set("contentStore.dir", source);
    }
  }
}

function describeIssue(issue: ZodIssue, sources: Map<string, string>): string {
  const where = issue.path.join(".") || "(configuration)";
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    return `${issue.keys.map((key) => (where === "(configuration)" ? key : `${where}.${key}`)).join(", ")}: unknown setting`;
  }
  if (issue.code === "invalid_type" && issue.received === "undefined") message = "is required";
  if (issue.code === "invalid_enum_value") {
    message = `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}`;
  }
  return `${where}: ${message}${sourceOf(issue.path, sources)}`;
}

/** Where the value at `issuePath` (or the list holding it) came from, when not the file. */
function sourceOf(issuePath: (string | number)[], sources: Map<string, string>): string {
  for (let length = issuePath.length; length > 0; length--) {
    const source = sources.get(issuePath.slice(0, length).join("."));
    if (source !== undefined) return ` (from ${source})`;
  }
  return "";
}

function convert(value: string, kind: Kind): unknown {
  switch (kind) {
    case "string":
      return value;
    case "list":
      return value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    case "bool":
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      return value;
    case "int":
    case "number": {
      // Keep the text when it is not a number, so the schema names the setting in its error.
      const n = Number(value);
      return value.trim() === "" || Number.isNaN(n) ? value : n;
    }
  }
}

function set(
  raw: Record<string, unknown>,
  setting: Setting,
  value: unknown,
  sources: Map<string, string>,
  source: string,
): void {
  const parts = setting.path.split(".");
  let node = raw;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (child === null || typeof child !== "object") node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
  sources.set(setting.path, source);
}

/** Paths in a config file are relative to the file, not to wherever the worker was started. */
function resolvePaths(config: Record<string, unknown>, base: string): Record<string, unknown> {
  const out = structuredClone(config);
  const fix = (holder: unknown, key: string) => {
    if (holder === null || typeof holder !== "object") return;
    const record = holder as Record<string, unknown>;
    if (typeof record[key] === "string") record[key] = path.resolve(base, record[key] as string);
  };
  fix(out, "dataDir");
  fix(out, "deploymentsDir");
  fix(out.contentStore, "dir");
  fix(out.key, "keystore");
  fix(out.key, "passwordFile");
  return out;
}
