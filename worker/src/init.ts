// `conun-worker init`: a new provider's first step. Writes, into one folder, an encrypted key
// (an ethers/geth JSON keystore, the format `key.keystore` reads) and a worker configuration
// for one chain, then says what to do next: fund the address, start the worker.
//
// The configuration is JSON with comments (worker.jsonc; the loader strips `//` and `/* */`,
// config/jsonc.ts): the same format as every other worker configuration and the README's
// examples, with each section explained where it stands. YAML was the other candidate, but
// its unquoted `0x…` addresses parse as numbers, and a `"$comment"` field per section is noise
// the schema would have to allow everywhere.
//
// Secrets never come from the command line (every user of the machine can read it): the
// password comes from CONUN_WORKER_KEYSTORE_PASSWORD or is asked on the terminal, an imported
// key from CONUN_WORKER_IMPORT_KEY. An existing keystore is never overwritten without --force,
// and even then it is kept, renamed, beside the new one.
import { constants } from "node:fs";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import { type DevnetRecord, readDevnet, sameRpcUrl } from "../../sdk/devnet.ts";
import { describeError, errorClass } from "../../sdk/errors.ts";
import { readDeployment } from "../../sdk/protocol/deployments.ts";
import { loadConfig } from "./config/index.ts";

declare module "../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"worker-init", InitError> {}
}

/**
 * Why `conun-worker init` stopped: `init-invalid` (a bad option, or the prompt was cancelled),
 * `init-exists` (the folder already holds a worker; `--force` replaces it), `init-no-password`,
 * `init-failed`.
 */
// biome-ignore format: a domain's codes stay on one line
export class InitError extends errorClass("worker-init", ["init-invalid", "init-exists", "init-no-password", "init-failed"]) {}

/** Chains `--chain` knows by name. */
export const KNOWN_CHAINS: Record<string, number> = { localhost: 31337, sepolia: 11155111 };
const LOCAL_CHAIN_IDS = [31337, 1337];
const LOCAL_RPC = "http://127.0.0.1:8545";
export const KEYSTORE_FILE = "keystore.json";
export const CONFIG_FILE = "worker.jsonc";
/** Where `init` writes unless `--dir` says otherwise (relative to the working directory). */
export const DEFAULT_INIT_DIR = ".conun/worker";

export interface InitOptions {
  /** `localhost`, `sepolia` or a chain id (default localhost). */
  chain?: string;
  rpc?: string;
  dir?: string;
  force?: boolean;
  /** Import the key in CONUN_WORKER_IMPORT_KEY instead of creating one. */
  importKeyFromEnv?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Asks for the password when the environment has none (a terminal); undefined: none. */
  askPassword?: () => Promise<string>;
  /** The running demo to take the chain from (default: the live devnet record; null: none). */
  devnet?: DevnetRecord | null;
}

export interface InitResult {
  address: string;
  chainId: number;
  rpcUrl: string;
  dir: string;
  keystore: string;
  config: string;
  /** Files that were there and were kept under a new name (--force). */
  keptAside: string[];
  /** Where the chain settings came from. */
  source: "devnet" | "ignition" | "none";
  /** What to do now, one line each, for people. */
  nextSteps: string[];
}

export async function initWorker(options: InitOptions = {}): Promise<InitResult> {
  const env = options.env ?? process.env;
  const chainId = parseChain(options.chain ?? "localhost");
  const local = LOCAL_CHAIN_IDS.includes(chainId);
  const rpcGiven = options.rpc ?? env.CONUN_WORKER_RPC_URL;
  if (rpcGiven !== undefined && !URL.canParse(rpcGiven)) {
    throw new InitError("init-invalid", `--rpc ${rpcGiven} is not a URL, e.g. ${LOCAL_RPC}`);
  }
  if (rpcGiven === undefined && !local) {
    throw new InitError(
      "init-invalid",
      `chain ${chainId} needs its JSON-RPC endpoint: pass --rpc <url> (or set CONUN_WORKER_RPC_URL to keep an API key off the command line)`,
    );
  }
  let devnet: DevnetRecord | undefined;
  if (local) {
    try {
      devnet = options.devnet === undefined ? readDevnet({ env }) : (options.devnet ?? undefined);
    } catch (error) {
      throw new InitError("init-invalid", describeError(error), { cause: error });
    }
    if (devnet !== undefined && devnet.chainId !== chainId) devnet = undefined;
    if (devnet !== undefined && rpcGiven !== undefined && !sameRpcUrl(rpcGiven, devnet.rpcUrl)) {
      devnet = undefined;
    }
  }
  const rpcUrl = rpcGiven ?? devnet?.rpcUrl ?? LOCAL_RPC;

  const dir = path.resolve(options.dir ?? DEFAULT_INIT_DIR);
  const keystore = path.join(dir, KEYSTORE_FILE);
  const config = path.join(dir, CONFIG_FILE);
  const existing = [];
  for (const file of [keystore, config]) if (await exists(file)) existing.push(file);
  if (existing.length > 0 && !options.force) {
    throw new InitError(
      "init-exists",
      `${existing.join(" and ")} already exist${existing.length === 1 ? "s" : ""}: refusing to replace a provider's key. ` +
        "Use another --dir, or pass --force to replace them (the old files are kept beside the new ones, renamed)",
    );
  }

  const wallet = await chooseKey(options.importKeyFromEnv === true, env);
  const password = await choosePassword(env, options.askPassword);

  let source: InitResult["source"] = "none";
  let deploymentNote: string | undefined;
  if (devnet !== undefined) {
    source = "devnet";
  } else {
    try {
      await readDeployment(chainId);
      source = "ignition";
    } catch (error) {
      deploymentNote = describeError(error);
    }
  }

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const keptAside: string[] = [];
  for (const file of existing) {
    const aside = `${file}.replaced-${stamp}`;
    await rename(file, aside);
    keptAside.push(aside);
  }
  const encrypted = await wallet.encrypt(password);
  // "wx": never write over a file that appeared meanwhile.
  await writeFile(keystore, `${encrypted}\n`, { flag: "wx", mode: 0o600 });
  const text = renderConfig({
    chainId,
    rpcUrl,
    devnet,
    local,
    contentDir: devnet?.contentDir ?? (local ? path.resolve(".conun/content") : "content"),
    source,
  });
  await writeFile(config, text, { flag: "wx", mode: 0o600 });

  // What init wrote must be what the worker accepts: load it as `run` will.
  try {
    await loadConfig({
      file: config,
      env: { CONUN_WORKER_KEYSTORE_PASSWORD: password },
      devnet: null,
    });
  } catch (error) {
    throw new InitError(
      "init-failed",
      `the configuration written is invalid (a bug): ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }

  const address = wallet.address;
  const run = `npm run worker -- run --config ${config}`;
  const nextSteps: string[] = [];
  if (local) {
    nextSteps.push(
      `fund it (CONUN to stake and 1 ETH for gas): npx hardhat conun:faucet --network localhost --to ${address}`,
    );
  } else {
    nextSteps.push(
      `fund it on chain ${chainId}: ETH for gas and at least 100 CONUN to stake (stake.target in the config)`,
    );
  }
  if (source === "none") {
    nextSteps.push(
      local
        ? "no CONUN deployment is known for this chain yet: start `npm run demo -- --keep` (or `npx hardhat node` and `npm run deploy:local`) first"
        : `no CONUN deployment is known for chain ${chainId} (${deploymentNote}): add its addresses as "contracts" in the config`,
    );
  }
  nextSteps.push(
    `start it with the password in CONUN_WORKER_KEYSTORE_PASSWORD (or set key.passwordFile in the config): ${run}   (or: conun-worker run --config ${config})`,
    `see what it does: npm run worker -- status --config ${config}`,
  );
  return { address, chainId, rpcUrl, dir, keystore, config, keptAside, source, nextSteps };
}

/** The lines `conun-worker init` prints. No secret: the address, the paths, what to do next. */
export function formatInit(result: InitResult): string {
  const lines = [
    `provider key ${result.address} for chain ${result.chainId} (${result.rpcUrl})`,
    `  keystore  ${result.keystore} (encrypted: keep the password, the key cannot be recovered without it)`,
    `  config    ${result.config}${result.source === "devnet" ? " (chain, contracts and content store from the running demo)" : ""}`,
  ];
  for (const aside of result.keptAside) lines.push(`  kept      ${aside} (the file it replaced)`);
  lines.push("next:");
  result.nextSteps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step}`);
  });
  return lines.join("\n");
}

function parseChain(chain: string): number {
  const named = KNOWN_CHAINS[chain.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d+$/.test(chain) && Number(chain) > 0 && Number.isSafeInteger(Number(chain))) {
    return Number(chain);
  }
  throw new InitError(
    "init-invalid",
    `--chain ${chain}: give ${Object.keys(KNOWN_CHAINS).join(", ")} or a chain id (e.g. 11155111)`,
  );
}

async function chooseKey(importFromEnv: boolean, env: NodeJS.ProcessEnv): Promise<Wallet> {
  if (!importFromEnv) return new Wallet(Wallet.createRandom().privateKey);
  const key = env.CONUN_WORKER_IMPORT_KEY?.trim();
  if (key === undefined || key === "") {
    throw new InitError(
      "init-invalid",
      "--import-key-from-env: set CONUN_WORKER_IMPORT_KEY to the private key to import (0x + 64 hex digits)",
    );
  }
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) {
    throw new InitError(
      "init-invalid",
      "CONUN_WORKER_IMPORT_KEY is not a private key: it must be 0x + 64 hex digits",
    );
  }
  return new Wallet(key.startsWith("0x") ? key : `0x${key}`);
}

async function choosePassword(
  env: NodeJS.ProcessEnv,
  ask: (() => Promise<string>) | undefined,
): Promise<string> {
  const fromEnv = env.CONUN_WORKER_KEYSTORE_PASSWORD;
  let password: string;
  if (fromEnv !== undefined && fromEnv !== "") password = fromEnv;
  else if (ask !== undefined) password = await ask();
  else {
    throw new InitError(
      "init-no-password",
      "init needs a password to encrypt the key: set CONUN_WORKER_KEYSTORE_PASSWORD, or run it in a terminal to be asked",
    );
  }
  if (password.length < 8) {
    throw new InitError(
      "init-invalid",
      "the keystore password must have at least 8 characters (it is all that protects the key)",
    );
  }
  return password;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

interface RenderOptions {
  chainId: number;
  rpcUrl: string;
  devnet: DevnetRecord | undefined;
  local: boolean;
  contentDir: string;
  source: InitResult["source"];
}

/** The commented configuration. Paths inside the folder are relative (the loader resolves them). */
export function renderConfig(o: RenderOptions): string {
  const j = (value: unknown) => JSON.stringify(value);
  const contracts =
    o.devnet === undefined
      ? [
          `  // Contracts: read at start from the Ignition deployment of chain ${o.chainId}`,
          "  // (ignition/deployments). To pin them, add:",
          '  //   "contracts": { "token": "0x…", "registry": "0x…", "market": "0x…", "startBlock": 0 },',
        ]
      : [
          `  // Contracts of the demo running when this file was written (.conun/devnet.json,`,
          `  // ${o.devnet.startedAt}). A new demo is a new chain: run init again in another --dir.`,
          `  "contracts": {`,
          `    "token": ${j(o.devnet.deployment.token)},`,
          `    "registry": ${j(o.devnet.deployment.registry)},`,
          `    "market": ${j(o.devnet.deployment.market)},`,
          `    "startBlock": ${o.devnet.deployment.startBlock}`,
          "  },",
          "  // Where open jobs are found fastest (the chain's events are always read too).",
          `  "subgraphUrl": ${j(o.devnet.subgraphUrl)},`,
        ];
  const lines = [
    `// conun-worker configuration for chain ${o.chainId}, written by \`conun-worker init\` on ${new Date().toISOString()}.`,
    "// JSON with comments: the worker ignores // and /* */. Every setting is described in",
    "// worker/README.md (Settings); each can also be set by a CONUN_WORKER_* variable or a flag,",
    "// which win over this file. Relative paths are relative to this file's folder.",
    "{",
    "  // The chain: its JSON-RPC endpoint, and its id (checked against the node before anything",
    "  // is signed).",
    `  "rpcUrl": ${j(o.rpcUrl)},`,
    `  "chainId": ${o.chainId},`,
    ...contracts,
    "",
    "  // The provider's key: the encrypted keystore beside this file. Its password is read from",
    "  // CONUN_WORKER_KEYSTORE_PASSWORD; or name a file holding it (readable by you only):",
    '  //   "passwordFile": "keystore.password"',
    `  "key": { "keystore": ${j(KEYSTORE_FILE)} },`,
    "",
    "  // Where job content (manifests, inputs, image archives) is read and results are stored.",
    o.local
      ? "  // On one machine it is the folder the requester tools upload to (.conun/content)."
      : '  // A folder shared with requesters; across machines use "kind": "ipfs" with "peers".',
    `  "contentStore": { "kind": "local", "dir": ${j(o.contentDir)} },`,
    "",
    "  // The journal: bids, salts, result roots. Keep it: without it a worker that committed",
    "  // cannot reveal, and is slashed.",
    '  "dataDir": "data",',
    "",
    "  // What this machine offers. Left out, each is measured: all CPUs (slots = CPU count),",
    "  // 75 % of the memory, the GPUs nvidia-smi lists. For example:",
    '  //   "capacity": { "slots": 2, "cpuMillicores": 2000, "memoryMiB": 4096 },',
    "",
    "  // CONUN kept staked in the registry, topped up from the wallet. Bids lock part of it; a",
    "  // wrong or missing result is slashed from it.",
    '  "stake": { "target": "100" },',
    "",
    "  // What a task-replica must pay: floor per CPU-second of the job's worst case (cores ×",
    "  // timeout), plus the margin, never below minPerTask. Amounts in CONUN.",
    '  "pricing": { "floorPerCpuSecond": "0.001", "margin": 0.2, "minPerTask": "0.01" },',
    "",
    '  // Logs: one line per event ("json": true for JSON lines). Metrics: a loopback port',
    "  // serving Prometheus text, 0 = off.",
    '  "log": { "level": "info", "json": false },',
    '  "metrics": { "port": 0 }',
    "}",
    "",
  ];
  return lines.join("\n");
}
