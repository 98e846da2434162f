/**
 * Who is acting: an injected EIP-1193 wallet (MetaMask and the like), or on local development
 * chains one of the node's own unlocked accounts through a JSON-RPC signer, so the demo works
 * without any extension. Reads always go through the configured RPC so that the pages work
 * with no wallet connected at all.
 */
import {
  BrowserProvider,
  type Eip1193Provider,
  getAddress,
  JsonRpcProvider,
  type JsonRpcSigner,
  Network,
  type Signer,
} from "ethers";
import { connectContracts, type ProtocolContracts } from "../../../sdk/chain/contracts.ts";
import { errorClass } from "../../../sdk/errors.ts";
import { type AppConfig, LOCAL_CHAIN_IDS } from "../config.ts";

export interface Session {
  kind: "injected" | "dev";
  address: string;
  signer: Signer;
  /** Contracts connected to the signer (writes). */
  contracts: ProtocolContracts;
}

export class WrongChainError extends errorClass("app-wallet", ["wallet-wrong-chain"]) {
  readonly actual: number;
  readonly expected: number;
  constructor(actual: number, expected: number) {
    super(
      "wallet-wrong-chain",
      `Your wallet is on chain ${actual}, but this app works with chain ${expected}. Switch the wallet to chain ${expected} and connect again.`,
    );
    this.actual = actual;
    this.expected = expected;
  }
}

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"app-wallet", WrongChainError> {}
}

export function readProvider(config: AppConfig): JsonRpcProvider {
  const network = Network.from(config.chainId);
  return new JsonRpcProvider(config.rpcUrl, network, {
    staticNetwork: network,
    pollingInterval: 1000,
  });
}

export function injectedWallet(): Eip1193Provider | undefined {
  return (window as { ethereum?: Eip1193Provider }).ethereum;
}

/** Asks the injected wallet for an account; refuses (WrongChainError) on another chain. */
export async function connectInjected(config: AppConfig): Promise<Session> {
  const wallet = injectedWallet();
  if (wallet === undefined) {
    throw new Error(
      "No browser wallet found. Install one (e.g. MetaMask) or use a development account.",
    );
  }
  const provider = new BrowserProvider(wallet, "any");
  await provider.send("eth_requestAccounts", []);
  const chainId = Number(await provider.send("eth_chainId", []));
  if (chainId !== config.chainId) throw new WrongChainError(chainId, config.chainId);
  const signer = await provider.getSigner();
  return {
    kind: "injected",
    address: await signer.getAddress(),
    signer,
    contracts: connectContracts(config.addresses, signer),
  };
}

/** Asks the injected wallet to switch to the app's chain (EIP-3326). */
export async function switchInjectedChain(config: AppConfig): Promise<void> {
  const wallet = injectedWallet();
  if (wallet === undefined) return;
  await wallet.request({
    method: "wallet_switchEthereumChain",
    params: [{ chainId: `0x${config.chainId.toString(16)}` }],
  });
}

/** The node's unlocked accounts — only offered on local development chains. */
export async function devAccounts(config: AppConfig, provider: JsonRpcProvider): Promise<string[]> {
  if (!LOCAL_CHAIN_IDS.has(config.chainId)) return [];
  const accounts = (await provider.send("eth_accounts", [])) as string[];
  return accounts.slice(0, 10).map((a) => getAddress(a));
}

export async function connectDev(
  config: AppConfig,
  provider: JsonRpcProvider,
  address: string,
): Promise<Session> {
  if (!LOCAL_CHAIN_IDS.has(config.chainId)) {
    throw new Error("Development accounts exist only on local chains.");
  }
  const signer: JsonRpcSigner = await provider.getSigner(address);
  return {
    kind: "dev",
    address: await signer.getAddress(),
    signer,
    contracts: connectContracts(config.addresses, signer),
  };
}
