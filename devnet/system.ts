// Brings up the whole CONUN system on one machine, as separate processes where the real system
// has separate machines: a Hardhat node, the embedded subgraph host, and provider workers.
// Shared by `npm run demo`, the end-to-end test and the end-to-end benchmark. Every process
// started here is recorded and stopped by its PID in `stop()`.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import {
  HDNodeWallet,
  JsonRpcProvider,
  Mnemonic,
  Network,
  parseUnits,
  type Wallet,
  Wallet as WalletClass,
} from "ethers";
import { formatConun } from "../requester/manage.ts";
import { deployProtocol } from "../sdk/chain/deploy.ts";
import { ConunError } from "../sdk/errors.ts";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import { freePort } from "../sdk/net.ts";
import {
  type Deployment,
  deploymentFromAddresses,
  readDeployment,
} from "../sdk/protocol/deployments.ts";
import { overridesForDeployment, startSubgraphHost } from "../subgraph-host/src/index.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { ProviderRegistry__factory } from "../types/ethers-contracts/factories/ProviderRegistry__factory.ts";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
export const REPO = path.resolve(import.meta.dirname, "..");
const HARDHAT_CLI = path.join(
  path.dirname(require.resolve("hardhat/package.json")),
  "dist/src/cli.js",
);
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const LOCAL_CHAIN_ID = 31337;

export class DemoError extends ConunError {}

/** A chain the system runs on: URL, addresses and the node's funded development keys. */
export interface DemoChain {
  url: string;
  chainId: number;
  provider: JsonRpcProvider;
  /** Development wallets: 0 deployer (holds the supply), 1 treasury, 2 requester, 3.. workers. */
  wallets: Wallet[];
  keys: string[];
  deployment: { token: string; registry: string; market: string; startBlock: number };
  stop(): Promise<void>;
}

export function devWallets(
  provider: JsonRpcProvider,
  count = 20,
): { wallets: Wallet[]; keys: string[] } {
  const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC);
  const wallets: Wallet[] = [];
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const hd = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    keys.push(hd.privateKey);
    wallets.push(new WalletClass(hd.privateKey, provider));
  }
  return { wallets, keys };
}

/**
 * A provider for the local chain. Caching is off: ethers otherwise answers a repeated call
 * (such as the nonce a wallet asks for before each transaction) from a 250 ms cache, and two
 * transactions sent in quick succession would then share a nonce.
 */
export function localProvider(url: string): JsonRpcProvider {
  const network = Network.from(LOCAL_CHAIN_ID);
  return new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: 100,
    cacheTimeout: -1,
  });
}

/** Stops a child process by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForRpc(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new DemoError("node-failed", `hardhat node exited: ${output().slice(-2000)}`);
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new DemoError("node-failed", `hardhat node did not answer within ${timeoutMs} ms`);
}

export interface StartChainOptions {
  /**
   * `ignition`: deployed with Ignition exactly as `npm run deploy:local` does, on port 8545 (the
   * `localhost` network's usual address) or, when 8545 is taken, on a free port: Ignition is
   * pointed there through CONUN_LOCALHOST_URL (hardhat.config.ts), and the demo's devnet record
   * (sdk/devnet.ts) tells `--network localhost` where it went. `direct`: a free port, the same
   * contracts deployed with ethers — for tests and benchmarks, which need no Ignition records.
   */
  deploy: "ignition" | "direct";
  log?: Logger;
}

/** The port a chain deployed with Ignition prefers: the `localhost` network's default. */
export const DEFAULT_NODE_PORT = 8545;

/**
 * Starts a local chain (devnet/chain-node.ts: wall-clock block times, a block every second when
 * idle) and deploys CONUN.
 */
export async function startChain(options: StartChainOptions): Promise<DemoChain> {
  const log = options.log ?? silentLogger;
  let port = options.deploy === "ignition" ? DEFAULT_NODE_PORT : await freePort();
  if (options.deploy === "ignition" && (await portInUse(port))) {
    port = await freePort();
    log.warn("port 8545 is in use (another `hardhat node`?): the local chain uses another port", {
      port,
    });
  }
  // --no-compile: the node needs no artifacts (contracts are deployed from the TypeChain
  // factories or by Ignition), and a parent `hardhat test --coverage` may be compiling.
  const child = spawn(
    process.execPath,
    [HARDHAT_CLI, "run", "--no-compile", "devnet/chain-node.ts"],
    {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0", CONUN_NODE_PORT: String(port) },
    },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const url = `http://127.0.0.1:${port}`;
  const provider = localProvider(url);
  const stop = async () => {
    provider.destroy();
    await stopChild(child);
  };
  try {
    await waitForRpc(url, child, 90_000, () => output);
    log.info("local chain up", { url, pid: child.pid });
    const { wallets, keys } = devWallets(provider);
    const deployment =
      options.deploy === "ignition" ? await deployWithIgnition(url) : await deployDirect(wallets);
    log.info("protocol deployed", { market: deployment.market, with: options.deploy });
    return { url, chainId: LOCAL_CHAIN_ID, provider, wallets, keys, deployment, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function deployWithIgnition(url: string): Promise<DemoChain["deployment"]> {
  // A fresh node has none of the contracts an earlier run recorded: Ignition must not
  // believe they exist.
  await rm(path.join(REPO, "ignition/deployments/chain-31337"), { recursive: true, force: true });
  await run(
    process.execPath,
    [
      HARDHAT_CLI,
      "ignition",
      "deploy",
      "ignition/modules/conun.ts",
      "--network",
      "localhost",
      "--parameters",
      "ignition/parameters/localhost.json",
    ],
    {
      cwd: REPO,
      timeout: 180_000,
      // `--network localhost` is this chain, whichever port it got (hardhat.config.ts).
      env: { ...process.env, FORCE_COLOR: "0", CONUN_LOCALHOST_URL: url },
    },
  ).catch((cause: { stdout?: string; stderr?: string }) => {
    throw new DemoError(
      "deploy-failed",
      `Ignition deployment failed: ${cause.stderr || cause.stdout || String(cause)}`,
      { cause },
    );
  });
  const { token, registry, market, startBlock } = await readDeployment(LOCAL_CHAIN_ID);
  return { token, registry, market, startBlock };
}

/** The Ignition module's contracts and parameters, deployed with ethers. */
async function deployDirect(wallets: Wallet[]): Promise<DemoChain["deployment"]> {
  const [owner, treasury] = wallets;
  if (owner === undefined || treasury === undefined)
    throw new DemoError("no-accounts", "no accounts");
  const { token, registry, market, startBlock } = await deployProtocol(owner, {
    treasury: treasury.address,
  });
  return { token, registry, market, startBlock };
}

/** Sends CONUN from the deployer (wallet 0) to each address. */
export async function fund(chain: DemoChain, recipients: string[], amount: string): Promise<void> {
  const deployer = chain.wallets[0];
  if (deployer === undefined) throw new DemoError("no-accounts", "the chain has no accounts");
  // One at a time: a node that automines cannot queue transactions with future nonces.
  const token = ConunToken__factory.connect(chain.deployment.token, deployer);
  for (const to of recipients) {
    await (await token.transfer(to, parseUnits(amount, 18))).wait(1, 60_000);
  }
}

export interface WorkerSpec {
  name: string;
  /** Index of the development wallet the worker uses. */
  account: number;
  fault?: "none" | "wrong-results";
  /** Extra config fields (capacity, pricing …). */
  config?: Record<string, unknown>;
}

export interface RunningWorker {
  name: string;
  address: string;
  fault: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
}

/** Starts one worker process per spec, each with its own data dir, config file and log. */
export async function startWorkers(
  chain: DemoChain,
  specs: WorkerSpec[],
  options: { dir: string; contentDir: string; subgraphUrl?: string },
): Promise<RunningWorker[]> {
  const started: RunningWorker[] = [];
  for (const spec of specs) {
    const wallet = chain.wallets[spec.account];
    const key = chain.keys[spec.account];
    if (wallet === undefined || key === undefined)
      throw new DemoError("no-accounts", `no account ${spec.account}`);
    const home = path.join(options.dir, spec.name);
    await mkdir(home, { recursive: true });
    const config = {
      rpcUrl: chain.url,
      chainId: chain.chainId,
      contracts: {
        token: chain.deployment.token,
        registry: chain.deployment.registry,
        market: chain.deployment.market,
        startBlock: chain.deployment.startBlock,
      },
      key: { devKey: key },
      ...(options.subgraphUrl === undefined ? {} : { subgraphUrl: options.subgraphUrl }),
      contentStore: { kind: "local", dir: options.contentDir },
      dataDir: path.join(home, "data"),
      log: { level: "info", json: true },
      pollIntervalMs: 250,
      fault: spec.fault ?? "none",
      ...spec.config,
    };
    const configFile = path.join(home, "config.json");
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const logFile = path.join(home, "worker.log");
    const logStream = createWriteStream(logFile, { flags: "a" });
    const child = spawn(
      process.execPath,
      [path.join(REPO, "worker/src/cli.ts"), "run", "--config", configFile],
      { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } },
    );
    child.stdout?.pipe(logStream);
    child.stderr?.pipe(logStream);
    started.push({
      name: spec.name,
      address: wallet.address,
      fault: spec.fault ?? "none",
      pid: child.pid ?? -1,
      logFile,
      child,
    });
  }
  return started;
}

/**
 * Waits until every worker is registered with stake, and with at least `minFreeStake` of it
 * free (default: any), or until one exits. After a job, a slashed worker tops its stake back
 * up on its own schedule: waiting for the free stake a next job needs keeps that job from
 * ending Unfilled for want of stake.
 */
export async function waitForWorkersReady(
  chain: DemoChain,
  workers: RunningWorker[],
  timeoutMs = 60_000,
  minFreeStake = 0n,
): Promise<void> {
  const registry = ProviderRegistry__factory.connect(chain.deployment.registry, chain.provider);
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(workers);
  while (pending.size > 0) {
    for (const worker of [...pending]) {
      if (worker.child.exitCode !== null) {
        throw new DemoError(
          "worker-failed",
          `worker ${worker.name} exited with code ${worker.child.exitCode}; see ${worker.logFile}`,
        );
      }
      const info = await registry.getProvider(worker.address).catch(() => undefined);
      const free =
        minFreeStake > 0n ? await registry.freeStakeOf(worker.address).catch(() => 0n) : 0n;
      if (info?.registered && info.stake > 0n && free >= minFreeStake) pending.delete(worker);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new DemoError(
        "worker-failed",
        `worker(s) ${[...pending].map((w) => w.name).join(", ")} did not register and stake${minFreeStake > 0n ? ` ${formatConun(minFreeStake)} free` : ""} within ${timeoutMs / 1000} s; see their logs`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
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
    throw new DemoError(
      error.code === "ENOENT" ? "docker-missing" : "docker-not-running",
      `${error.code === "ENOENT" ? "Docker is not installed" : `the Docker engine does not answer${detail ? ` (${detail})` : ""}`}. ` +
        "Providers run every task in a Docker container. `sh scripts/provision.sh demo` installs " +
        "and starts one (as root with apt-get), or prints the commands for this machine.",
      { cause },
    );
  }
}

/**
 * The subgraph build the host serves, built with graph-cli when missing. The build does not
 * depend on addresses (the host points it at the deployment), so any rendered manifest will
 * do: the local Ignition deployment's when there is one, else the checked-in placeholders.
 */
export async function ensureSubgraphBuild(log: Logger = silentLogger): Promise<string> {
  const subgraphDir = path.join(REPO, "subgraph");
  const buildDir = path.join(subgraphDir, "build");
  if (existsSync(path.join(buildDir, "subgraph.yaml"))) return buildDir;
  log.info("building the subgraph (graph codegen && graph build)");
  const npm = async (args: string[]) =>
    run("npm", args, { cwd: subgraphDir, timeout: 300_000 }).catch(
      (cause: { stderr?: string; stdout?: string }) => {
        throw new DemoError(
          "subgraph-build-failed",
          `npm ${args.join(" ")} in subgraph/ failed: ${cause.stderr || cause.stdout || String(cause)}`,
          { cause },
        );
      },
    );
  const ignitionRecord = path.join(
    REPO,
    "ignition/deployments/chain-31337/deployed_addresses.json",
  );
  await npm(
    existsSync(ignitionRecord) ? ["run", "prepare:local"] : ["run", "render", "--", "sepolia"],
  );
  await npm(["run", "build"]);
  return buildDir;
}

export interface RunningSubgraph {
  /** GraphQL endpoint, graph-node's path: http://127.0.0.1:<port>/subgraphs/name/conun. */
  url: string;
  /** Resolves once block `number` is indexed. */
  waitForBlock(number: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the embedded subgraph host in this process, indexing `chain` with the contract
 * addresses of its deployment, serving GraphQL on a loopback port (free unless given).
 */
export async function startSubgraph(
  chain: DemoChain,
  options: { dir: string; log?: Logger; port?: number },
): Promise<RunningSubgraph> {
  const buildDir = await ensureSubgraphBuild(options.log);
  await mkdir(options.dir, { recursive: true });
  const host = await startSubgraphHost({
    buildDir,
    rpcUrl: chain.url,
    dbPath: path.join(options.dir, "subgraph.sqlite"),
    name: "conun",
    port: options.port ?? 0,
    hostname: "127.0.0.1",
    logger: options.log ?? silentLogger,
    dataSourceOverrides: overridesForDeployment(chain.deployment),
    pollIntervalMs: 250,
  });
  return {
    url: host.url,
    waitForBlock: (number, timeoutMs) => host.waitForBlock(number, timeoutMs),
    stop: () => host.close(),
  };
}

/** The chain's deployment in the form the requester tools read from Ignition's records. */
export function deploymentOf(chain: DemoChain): Deployment {
  return deploymentFromAddresses(chain.chainId, chain.deployment);
}
