// The devnet's chain: a Hardhat node in its own process (other processes, the workers, reach it
// over JSON-RPC), the protocol deployed on it, and the node's funded development accounts.
//
// Two nodes, both of which keep chain time on the wall clock (automine, and a block every
// second when idle, so deadlines pass in real time as they would on a live network):
// - `devnet` (devnet/chain-node.ts): blocks may also share a timestamp, so a burst of set-up
//   transactions does not push chain time ahead of the wall clock. The demo's, the end-to-end
//   test's and bench's.
// - `hardhat`: a plain `hardhat node`, its interval mining switched on over RPC. The tests'
//   and the worker cluster's.
// Every node is stopped by its PID.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import {
  HDNodeWallet,
  JsonRpcProvider,
  Mnemonic,
  Network,
  NonceManager,
  parseUnits,
  Wallet,
} from "ethers";
import { deployProtocol } from "../sdk/chain/deploy.ts";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import { freePort } from "../sdk/net.ts";
import {
  type Deployment,
  deploymentFromAddresses,
  readDeployment,
} from "../sdk/protocol/deployments.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { DevnetStartError } from "./teardown.ts";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
export const REPO = path.resolve(import.meta.dirname, "..");
// `npx hardhat` would leave the node running as a grandchild when stopped: run its CLI here.
export const HARDHAT_CLI = path.join(
  path.dirname(require.resolve("hardhat/package.json")),
  "dist/src/cli.js",
);
/** Hardhat's default development mnemonic: the node funds its first 20 accounts. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export const ONE = 10n ** 18n;
export const LOCAL_CHAIN_ID = 31337;
/** An idle node mines a block this often. */
export const INTERVAL_MINING_MS = 1000;
/** The port a chain deployed with Ignition prefers: the `localhost` network's default. */
export const DEFAULT_NODE_PORT = 8545;

/** The protocol's addresses on the chain (`assignment` is empty when deployed by Ignition). */
export interface ChainDeployment {
  token: string;
  registry: string;
  market: string;
  assignment: string;
  startBlock: number;
}

export interface Chain {
  url: string;
  port: number;
  pid: number;
  chainId: number;
  provider: JsonRpcProvider;
  /** Development wallets: 0 deployer/owner (holds the supply), 1 treasury, 2 requester, 3.. workers. */
  wallets: Wallet[];
  /** Private keys of `wallets`, for worker configurations. */
  keys: string[];
  /**
   * Account `index` as a signer that counts its own nonces: use it (not `wallets[index]`) for
   * every transaction sent from that account in quick succession, so no two share a nonce.
   */
  signer(index: number): NonceManager;
  deployment: ChainDeployment;
  /**
   * Raw JSON-RPC call. `evm_setAutomine` with `false` means "mine by hand": it also pauses
   * interval mining (which would otherwise mine the held transactions within a second) until
   * automine is switched back on.
   */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  /** Moves chain time forward and mines a block. */
  advance(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartChainOptions {
  /** Which node (see the top of this file); default `devnet`. */
  node?: "devnet" | "hardhat";
  /**
   * `ignition`: deployed with Ignition exactly as `npm run deploy:local` does, on port 8545 (the
   * `localhost` network's usual address) or, when 8545 is taken, on a free port: Ignition is
   * pointed there through CONUN_LOCALHOST_URL (hardhat.config.ts), and the demo's devnet record
   * (sdk/devnet.ts) tells `--network localhost` where it went. `direct`: a free port, the same
   * contracts deployed with ethers — for tests and benchmarks, which need no Ignition records.
   * `none`: a free port, nothing deployed.
   */
  deploy: "ignition" | "direct" | "none";
  /** The protocol fee of a `direct` deployment (default the Ignition module's). */
  feeBps?: bigint;
  /** How long to wait for the node to answer (default 90 s for `devnet`, 60 s for `hardhat`). */
  startTimeoutMs?: number;
  log?: Logger;
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
    wallets.push(new Wallet(hd.privateKey, provider));
  }
  return { wallets, keys };
}

/**
 * A provider for the local chain. With `cache: false`, ethers does not answer a repeated call
 * (such as the nonce a wallet asks for before each transaction) from its 250 ms cache, so two
 * transactions sent in quick succession from plain wallets never share a nonce.
 */
export function localProvider(url: string, options: { cache?: boolean } = {}): JsonRpcProvider {
  const network = Network.from(LOCAL_CHAIN_ID);
  return new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: 100,
    ...(options.cache === true ? {} : { cacheTimeout: -1 }),
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
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new DevnetStartError(
        "node-failed",
        `hardhat node exited with ${child.exitCode}: ${output().slice(-2000)}`,
      );
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
  throw new DevnetStartError(
    "node-failed",
    `hardhat node did not answer within ${timeoutMs} ms: ${output().slice(-2000)}`,
  );
}

function spawnNode(kind: "devnet" | "hardhat", port: number): ChildProcess {
  // The node binary running this process is Node 22 (Hardhat refuses older ones).
  const args =
    kind === "devnet"
      ? // --no-compile: the node needs no artifacts (contracts are deployed from the TypeChain
        // factories or by Ignition), and a parent `hardhat test --coverage` may be compiling.
        [HARDHAT_CLI, "run", "--no-compile", "devnet/chain-node.ts"]
      : [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)];
  return spawn(process.execPath, args, {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", CONUN_NODE_PORT: String(port) },
  });
}

/** Starts a local chain (see the top of this file) and deploys CONUN on it. */
export async function startChain(options: StartChainOptions): Promise<Chain> {
  const log = options.log ?? silentLogger;
  const kind = options.node ?? "devnet";
  let port = options.deploy === "ignition" ? DEFAULT_NODE_PORT : await freePort();
  if (options.deploy === "ignition" && (await portInUse(port))) {
    port = await freePort();
    log.warn("port 8545 is in use (another `hardhat node`?): the local chain uses another port", {
      port,
    });
  }
  const child = spawnNode(kind, port);
  let output = "";
  const collect = (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const url = `http://127.0.0.1:${port}`;
  // The tests' node keeps ethers' cache: they send through `signer(i)`, which counts nonces.
  const provider = localProvider(url, { cache: kind === "hardhat" });
  const stop = async () => {
    provider.destroy();
    await stopChild(child);
  };
  try {
    await waitForRpc(
      url,
      child,
      options.startTimeoutMs ?? (kind === "devnet" ? 90_000 : 60_000),
      () => output,
    );
    log.info("local chain up", { url, pid: child.pid });
    const { wallets, keys } = devWallets(provider);
    const send = (method: string, params: unknown[] = []) => provider.send(method, params);
    const rpc = async (method: string, params: unknown[] = []) => {
      if (method === "evm_setAutomine") {
        const auto = params[0] === true;
        if (!auto) await send("evm_setIntervalMining", [0]);
        const result = await send(method, params);
        if (auto) await send("evm_setIntervalMining", [INTERVAL_MINING_MS]);
        return result;
      }
      return send(method, params);
    };
    const signers = new Map<number, NonceManager>();
    const signer = (index: number) => {
      const wallet = wallets[index];
      if (wallet === undefined) throw new DevnetStartError("no-accounts", `no account ${index}`);
      let managed = signers.get(index);
      if (managed === undefined) {
        managed = new NonceManager(wallet);
        signers.set(index, managed);
      }
      return managed;
    };
    if (kind === "hardhat") await rpc("evm_setIntervalMining", [INTERVAL_MINING_MS]);
    const deployment = await deploy(options, url, signer, wallets);
    if (options.deploy !== "none")
      log.info("protocol deployed", { market: deployment.market, with: options.deploy });
    return {
      url,
      port,
      pid: child.pid ?? -1,
      chainId: LOCAL_CHAIN_ID,
      provider,
      wallets,
      keys,
      signer,
      deployment,
      rpc,
      advance: async (seconds: number) => {
        await rpc("evm_increaseTime", [seconds]);
        await rpc("evm_mine", []);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function deploy(
  options: StartChainOptions,
  url: string,
  signer: (index: number) => NonceManager,
  wallets: Wallet[],
): Promise<ChainDeployment> {
  if (options.deploy === "none")
    return { token: "", registry: "", market: "", assignment: "", startBlock: 0 };
  if (options.deploy === "ignition") return deployWithIgnition(url);
  // The Ignition module's contracts and parameters, deployed with ethers.
  const [owner, treasury] = wallets;
  if (owner === undefined || treasury === undefined)
    throw new DevnetStartError("no-accounts", "no accounts");
  return deployProtocol(signer(0), {
    tokenHolder: owner.address,
    treasury: treasury.address,
    ...(options.feeBps === undefined ? {} : { feeBps: options.feeBps }),
  });
}

async function deployWithIgnition(url: string): Promise<ChainDeployment> {
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
    throw new DevnetStartError(
      "deploy-failed",
      `Ignition deployment failed: ${cause.stderr || cause.stdout || String(cause)}`,
      { cause },
    );
  });
  const { token, registry, market, startBlock } = await readDeployment(LOCAL_CHAIN_ID);
  return { token, registry, market, assignment: "", startBlock };
}

/** Sends CONUN from the deployer (wallet 0) to each address. */
export async function fund(chain: Chain, recipients: string[], amount: string): Promise<void> {
  const deployer = chain.wallets[0];
  if (deployer === undefined)
    throw new DevnetStartError("no-accounts", "the chain has no accounts");
  // One at a time: a node that automines cannot queue transactions with future nonces.
  const token = ConunToken__factory.connect(chain.deployment.token, deployer);
  for (const to of recipients) {
    await (await token.transfer(to, parseUnits(amount, 18))).wait(1, 60_000);
  }
}

/** The chain's deployment in the form the requester tools read from Ignition's records. */
export function deploymentOf(chain: Pick<Chain, "chainId" | "deployment">): Deployment {
  return deploymentFromAddresses(chain.chainId, chain.deployment);
}

/** The tests' chain: a plain `hardhat node`, CONUN deployed with ethers unless `deploy: false`. */
export type LocalNode = Chain;

export function startLocalNode(
  options: { deploy?: boolean; feeBps?: bigint; startTimeoutMs?: number } = {},
): Promise<LocalNode> {
  return startChain({
    node: "hardhat",
    deploy: options.deploy === false ? "none" : "direct",
    ...(options.feeBps === undefined ? {} : { feeBps: options.feeBps }),
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
  });
}
