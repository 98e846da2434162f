// The devnet record: where a running local CONUN system (`npm run demo`, with or without
// --keep) can be found. The demo writes it once everything is up and removes it when it stops;
// the requester tasks, `hardhat.config.ts` (the `localhost` network's URL), the audit CLI, the
// app server and the worker read it when nothing else tells them where to go, so the README's
// commands work against the demo as written, whichever port its chain got.
//
// This module is the only reader and writer of the file. It is Node-only (file system, process
// table) and synchronous where a reader needs it at load time (a Hardhat config is not async).
//
// A record whose `pid` is no longer running (the demo was killed with SIGKILL, the machine
// restarted) is stale: readers ignore it with a warning. A file that is not a valid record is
// an error naming the file, the problem and the fix.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { errorClass } from "./errors.ts";

/** Where the record lives unless CONUN_DEVNET_FILE says otherwise: <repo>/.conun/devnet.json. */
export const DEFAULT_DEVNET_FILE = path.resolve(import.meta.dirname, "..", ".conun", "devnet.json");

export const DEVNET_RECORD_VERSION = 1;

/** A running local system, as its owner process recorded it. */
export interface DevnetRecord {
  version: typeof DEVNET_RECORD_VERSION;
  chainId: number;
  /** JSON-RPC URL of the chain (loopback). */
  rpcUrl: string;
  /** The CONUN contracts on that chain; `startBlock` is where indexers and log scans begin. */
  deployment: { token: string; registry: string; market: string; startBlock: number };
  /** Absolute path of the local content store the system's workers read and write. */
  contentDir: string;
  /** GraphQL endpoint of the subgraph indexing the chain. */
  subgraphUrl: string;
  /** Content gateway (`/ipfs/<cid>`, loopback `POST /upload`). */
  gatewayUrl: string;
  /** The dApp. */
  appUrl: string;
  /** The process that wrote the record and removes it when it stops. */
  pid: number;
  /** ISO time the record was written. */
  startedAt: string;
}

declare module "./errors.ts" {
  interface ConunErrorDomains extends Record<"devnet-record", DevnetError> {}
}

/**
 * Why the running demo's record (CONUN_DEVNET_FILE) cannot be used: `devnet-invalid` (a field is
 * missing or malformed; the message names it and the fix) or `devnet-unreadable`.
 */
export class DevnetError extends errorClass("devnet-record", [
  "devnet-invalid",
  "devnet-unreadable",
]) {}

/** The record's path: CONUN_DEVNET_FILE when set, else the default. */
export function devnetFile(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.CONUN_DEVNET_FILE?.trim();
  return chosen ? path.resolve(chosen) : DEFAULT_DEVNET_FILE;
}

/** True while a process with this id exists (EPERM: it exists, it is just not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * Checks a record's text and returns the record.
 * @throws DevnetError (`devnet-invalid`) naming the first bad field and the fix.
 */
export function parseDevnetRecord(text: string, file: string): DevnetRecord {
  const invalid = (problem: string) =>
    new DevnetError(
      "devnet-invalid",
      `${file} is not a valid devnet record (${problem}). It is written by \`npm run demo\`: ` +
        "stop any demo, delete the file, and start the demo again.",
      { details: { file } },
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw invalid("not a JSON object");
  const record = value as Record<string, unknown>;
  if (record.version !== DEVNET_RECORD_VERSION)
    throw invalid(
      `version must be ${DEVNET_RECORD_VERSION}, got ${JSON.stringify(record.version)}`,
    );
  const positiveInt = (key: string, v: unknown) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      throw invalid(`${key} must be a whole number, got ${JSON.stringify(v)}`);
  };
  const url = (key: string) => {
    const v = record[key];
    if (typeof v !== "string" || !URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol))
      throw invalid(`${key} must be an http(s) URL, got ${JSON.stringify(v)}`);
  };
  positiveInt("chainId", record.chainId);
  positiveInt("pid", record.pid);
  if (record.pid === 0) throw invalid("pid must be a process id, got 0");
  for (const key of ["rpcUrl", "subgraphUrl", "gatewayUrl", "appUrl"]) url(key);
  if (typeof record.contentDir !== "string" || !path.isAbsolute(record.contentDir))
    throw invalid(`contentDir must be an absolute path, got ${JSON.stringify(record.contentDir)}`);
  if (typeof record.startedAt !== "string" || Number.isNaN(Date.parse(record.startedAt)))
    throw invalid(`startedAt must be an ISO time, got ${JSON.stringify(record.startedAt)}`);
  const deployment = record.deployment as Record<string, unknown> | null | undefined;
  if (deployment === null || typeof deployment !== "object")
    throw invalid("deployment must be an object with token, registry, market, startBlock");
  for (const key of ["token", "registry", "market"]) {
    const v = deployment[key];
    if (typeof v !== "string" || !ADDRESS.test(v))
      throw invalid(`deployment.${key} must be a 0x address, got ${JSON.stringify(v)}`);
  }
  positiveInt("deployment.startBlock", deployment.startBlock);
  return {
    version: DEVNET_RECORD_VERSION,
    chainId: record.chainId as number,
    rpcUrl: record.rpcUrl as string,
    deployment: {
      token: deployment.token as string,
      registry: deployment.registry as string,
      market: deployment.market as string,
      startBlock: deployment.startBlock as number,
    },
    contentDir: record.contentDir,
    subgraphUrl: record.subgraphUrl as string,
    gatewayUrl: record.gatewayUrl as string,
    appUrl: record.appUrl as string,
    pid: record.pid as number,
    startedAt: record.startedAt,
  };
}

export interface ReadDevnetOptions {
  /** The record's path (default: devnetFile(env)). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the stale-record warning goes (default: stderr, once per file and process). */
  warn?: (message: string) => void;
}

const warned = new Set<string>();

function warnOnce(file: string, message: string): void {
  if (warned.has(file)) return;
  warned.add(file);
  process.stderr.write(`warning: ${message}\n`);
}

/**
 * The live record, or undefined when there is none or it is stale (its process is gone:
 * warned about, then ignored).
 * @throws DevnetError when the file exists but is not a valid record.
 */
export function readDevnet(options: ReadDevnetOptions = {}): DevnetRecord | undefined {
  const file = options.file ?? devnetFile(options.env);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DevnetError("devnet-unreadable", `cannot read the devnet record ${file}`, { cause });
  }
  const record = parseDevnetRecord(text, file);
  if (!processAlive(record.pid)) {
    const message =
      `ignoring the stale devnet record ${file}: the demo that wrote it (pid ${record.pid}, ` +
      `chain ${record.rpcUrl}) is no longer running. Start it again with \`npm run demo -- --keep\`.`;
    if (options.warn) options.warn(message);
    else warnOnce(file, message);
    return undefined;
  }
  return record;
}

/** Writes the record atomically (a reader never sees half a file). Returns the path. */
export async function writeDevnet(
  record: Omit<DevnetRecord, "version">,
  file: string = devnetFile(),
): Promise<string> {
  const full: DevnetRecord = { version: DEVNET_RECORD_VERSION, ...record };
  // Validate what we write with the same rules readers apply.
  parseDevnetRecord(JSON.stringify(full), file);
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(full, null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}

/**
 * Removes the record if it belongs to `pid` (default: this process), so a process never
 * removes another one's record. Synchronous: safe in an `exit` handler.
 */
export function removeDevnet(file: string = devnetFile(), pid: number = process.pid): boolean {
  if (!existsSync(file)) return false;
  try {
    const record = parseDevnetRecord(readFileSync(file, "utf8"), file);
    if (record.pid !== pid) return false;
  } catch {
    return false;
  }
  rmSync(file, { force: true });
  return true;
}

/** Same URL, ignoring a trailing slash and `localhost` vs `127.0.0.1`. */
export function sameRpcUrl(a: string, b: string): boolean {
  const normalize = (text: string) => {
    try {
      const url = new URL(text);
      if (url.hostname === "localhost") url.hostname = "127.0.0.1";
      return url.href.replace(/\/+$/, "");
    } catch {
      return text;
    }
  };
  return normalize(a) === normalize(b);
}
