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

/**
 * Every setting that has an environment variable and, unless secret, a flag: one name gives both
 * (`rpc-url` → `--rpc-url` and `CONUN_WORKER_RPC_URL`). Secrets have no flag: command lines are
 * visible to every user of the machine.
 */
export const SETTINGS: readonly Setting[] = (
  [
    ["rpcUrl", "rpc-url", "string"],
    ["chainId", "chain-id", "int"],
    ["deploymentsDir", "deployments-dir", "string"],
    ["subgraphUrl", "subgraph-url", "string"],
    ["dataDir", "data-dir", "string"],
    ["contentStore.kind", "content-kind", "string"],
    ["contentStore.dir", "content-dir", "string"],
    ["contentStore.listen", "content-listen", "list"],
    ["contentStore.peers", "content-peers", "list"],
    ["contentStore.fetchTimeoutMs", "content-fetch-timeout-ms", "int"],
    ["dockerSocket", "docker-socket", "string"],
    ["key.keystore", "keystore", "string"],
    ["key.password", "keystore-password", "string", "secret"],
    ["key.passwordFile", "keystore-password-file", "string"],
    ["key.devKey", "dev-key", "string", "secret"],
    ["capacity.slots", "slots", "int"],
    ["capacity.cpuMillicores", "cpu-millicores", "int"],
    ["capacity.memoryMiB", "memory-mib", "int"],
    ["capacity.gpuCount", "gpu-count", "int"],
    ["capacity.maxTaskReplicas", "max-task-replicas", "int"],
    ["limits.maxOutputMiB", "max-output-mib", "int"],
    ["limits.diskBudgetMiB", "disk-budget-mib", "int"],
    ["limits.minFreeDiskMiB", "min-free-disk-mib", "int"],
    ["limits.maxImageMiB", "max-image-mib", "int"],
    ["limits.imageCacheMiB", "image-cache-mib", "int"],
    ["limits.keepResultsHours", "keep-results-hours", "int"],
    ["limits.outputQuota", "output-quota", "string"],
    ["stake.target", "stake-target", "string"],
    ["pricing.floorPerCpuSecond", "price-floor-per-cpu-second", "string"],
    ["pricing.margin", "price-margin", "number"],
    ["pricing.minPerTask", "price-min-per-task", "string"],
    ["log.level", "log-level", "string"],
    ["log.json", "log-json", "bool"],
    ["metrics.port", "metrics-port", "int"],
    ["pollIntervalMs", "poll-interval-ms", "int"],
    ["rpcTimeoutMs", "rpc-timeout-ms", "int"],
    ["receiptTimeoutMs", "receipt-timeout-ms", "int"],
    ["lookbackBlocks", "lookback-blocks", "int"],
  ] as const satisfies readonly (readonly [string, string, Kind, "secret"?])[]
).map(([path, name, kind, secret]) => ({
  path,
  env: `CONUN_WORKER_${name.toUpperCase().replaceAll("-", "_")}`,
  ...(secret === undefined ? { flag: name } : {}),
  kind,
}));

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
