/**
 * What the app needs to know about the deployment it talks to, served as /config.json by
 * app/server.ts (or by `vite dev` from CONUN_APP_CONFIG). Validated once at start-up so a
 * bad value is named on screen instead of surfacing later as a confusing RPC failure.
 */
import { getAddress } from "ethers";
import { errorClass } from "../../sdk/errors.ts";

export interface AppConfig {
  chainId: number;
  /** JSON-RPC endpoint for reads (and, on local chains, for the dev accounts' signer). */
  rpcUrl: string;
  addresses: { token: string; registry: string; market: string };
  /** GraphQL endpoint of the CONUN subgraph. */
  subgraphUrl: string;
  /** Content gateway base URL (GET /ipfs/<cid>, POST /upload). */
  gatewayUrl: string;
  /** Optional display name of the network. */
  networkName?: string;
}

/** The app's /config.json is missing or wrong; the message names the field. */
export class ConfigError extends errorClass("app-config", ["app-config-invalid"]) {
  constructor(message: string) {
    super("app-config-invalid", message);
  }
}

declare module "../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"app-config", ConfigError> {}
}

function url(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ConfigError(`config.json: ${name} is missing`);
  try {
    return new URL(value).toString().replace(/\/$/, "");
  } catch {
    throw new ConfigError(`config.json: ${name} is not a URL: ${value}`);
  }
}

function address(value: unknown, name: string): string {
  try {
    return getAddress(String(value));
  } catch {
    throw new ConfigError(`config.json: addresses.${name} is not an address: ${String(value)}`);
  }
}

export function parseConfig(raw: unknown): AppConfig {
  if (typeof raw !== "object" || raw === null)
    throw new ConfigError("config.json is not an object");
  const r = raw as Record<string, unknown>;
  const chainId = Number(r.chainId);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new ConfigError(
      `config.json: chainId must be a positive integer, got ${String(r.chainId)}`,
    );
  }
  const addresses = (r.addresses ?? {}) as Record<string, unknown>;
  return {
    chainId,
    rpcUrl: url(r.rpcUrl, "rpcUrl"),
    subgraphUrl: url(r.subgraphUrl, "subgraphUrl"),
    gatewayUrl: url(r.gatewayUrl, "gatewayUrl"),
    addresses: {
      token: address(addresses.token, "token"),
      registry: address(addresses.registry, "registry"),
      market: address(addresses.market, "market"),
    },
    networkName: typeof r.networkName === "string" ? r.networkName : undefined,
  };
}

export async function loadConfig(): Promise<AppConfig> {
  const res = await fetch("/config.json", { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new ConfigError(`cannot load /config.json (HTTP ${res.status})`);
  return parseConfig(await res.json());
}

/** Chains where the well-known development accounts exist and hold test funds. */
export const LOCAL_CHAIN_IDS = new Set([31337, 1337]);
