// A Hardhat node in its own process, for tests and benchmarks in which other processes (the
// workers) must reach the chain over JSON-RPC. Starts `hardhat node` on a free loopback port,
// waits until it answers, deploys the protocol the way ignition/modules/conun.ts does (token,
// registry, Assignment library, market linked against it, registry connected to the market)
// and stops the node by its PID.
//
// Chain time follows the wall clock: the node mines each transaction at once (automine) and,
// when idle, a block every second (interval mining), so deadlines pass in real time as they
// would on a live network, not only when the next transaction arrives.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, NonceManager, Wallet } from "ethers";
import { deployProtocol } from "../sdk/chain/deploy.ts";
import { freePort } from "../sdk/net.ts";

const REPO = path.join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
/** Hardhat's default development mnemonic: the node funds its first 20 accounts. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export const ONE = 10n ** 18n;
export const LOCAL_CHAIN_ID = 31337;
/** An idle node mines a block this often. */
export const INTERVAL_MINING_MS = 1000;

export interface LocalDeployment {
  token: string;
  registry: string;
  market: string;
  assignment: string;
  startBlock: number;
}

export interface LocalNode {
  url: string;
  port: number;
  pid: number;
  chainId: number;
  provider: JsonRpcProvider;
  /** The node's funded development accounts as wallets (0 = deployer/owner, 1 = treasury). */
  wallets: Wallet[];
  /** Private keys of `wallets`, for worker configurations. */
  keys: string[];
  /**
   * Account `index` as a signer that counts its own nonces: use it (not `wallets[index]`) for
   * every transaction the test sends from that account, so quick successive sends never reuse
   * a nonce.
   */
  signer(index: number): NonceManager;
  deployment: LocalDeployment;
  /**
   * Raw JSON-RPC call. `evm_setAutomine` with `false` means "the test mines by hand": it also
   * pauses interval mining (which would otherwise mine the held transactions within a second)
   * until automine is switched back on.
   */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  /** Moves chain time forward and mines a block. */
  advance(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartLocalNodeOptions {
  /** Deploy the protocol (default true). */
  deploy?: boolean;
  feeBps?: bigint;
  /** How long to wait for the node to answer (default 60 s). */
  startTimeoutMs?: number;
}

export async function startLocalNode(options: StartLocalNodeOptions = {}): Promise<LocalNode> {
  const port = await freePort();
  // `npx hardhat` would leave the node running as a grandchild when stopped: run its CLI here.
  const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist/src/cli.js");
  // The node binary running this process is Node 22 (Hardhat refuses older ones).
  const child = spawn(
    process.execPath,
    [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  try {
    await waitForRpc(url, child, options.startTimeoutMs ?? 60_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const network = Network.from(LOCAL_CHAIN_ID);
  const provider = new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: 100,
  });
  const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC);
  const wallets: Wallet[] = [];
  const keys: string[] = [];
  for (let i = 0; i < 20; i++) {
    const hd = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    keys.push(hd.privateKey);
    wallets.push(new Wallet(hd.privateKey, provider));
  }
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
    if (wallet === undefined) throw new Error(`no account ${index}`);
    let managed = signers.get(index);
    if (managed === undefined) {
      managed = new NonceManager(wallet);
      signers.set(index, managed);
    }
    return managed;
  };
  try {
    await rpc("evm_setIntervalMining", [INTERVAL_MINING_MS]);
  } catch (error) {
    await stop();
    throw error;
  }
  let deployment: LocalDeployment = {
    token: "",
    registry: "",
    market: "",
    assignment: "",
    startBlock: 0,
  };
  try {
    if (options.deploy ?? true)
      deployment = await deployLocalProtocol(signer(0), wallets, options.feeBps ?? 100n);
  } catch (error) {
    await stop();
    throw error;
  }
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
    stop: async () => {
      provider.destroy();
      await stop();
    },
  };
}

async function deployLocalProtocol(
  deployer: NonceManager,
  wallets: Wallet[],
  feeBps: bigint,
): Promise<LocalDeployment> {
  const [owner, treasury] = wallets;
  if (owner === undefined || treasury === undefined) throw new Error("no accounts");
  return deployProtocol(deployer, {
    tokenHolder: owner.address,
    treasury: treasury.address,
    feeBps,
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
      throw new Error(`hardhat node exited with ${child.exitCode}: ${output().slice(-2000)}`);
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
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`hardhat node did not answer within ${timeoutMs} ms: ${output().slice(-2000)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
