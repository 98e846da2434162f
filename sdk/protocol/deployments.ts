// Where the rest of CONUN (subgraph, worker, dApp) finds the deployed protocol.
//
// `npx hardhat ignition deploy ignition/modules/conun.ts --network <name>` records each
// deployment under ignition/deployments/chain-<chainId>/: deployed_addresses.json maps the
// module's future ids to addresses, and journal.jsonl logs every transaction Ignition sent,
// including its receipt's block number. This module reads both; it needs no RPC connection and
// no Hardhat, so any Node program can import it (Node runs this TypeScript file directly).
//
// Usage from the command line: node sdk/protocol/deployments.ts <chainId>   (prints the JSON)
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { errorClass } from "../errors.ts";

/** The Ignition module id of ignition/modules/conun.ts: future ids are `Conun#<Contract>`. */
export const MODULE_ID = "Conun";

export const DEFAULT_DEPLOYMENTS_DIR = path.join(
  import.meta.dirname,
  "..",
  "..",
  "ignition",
  "deployments",
);

const CONTRACTS = {
  token: "ConunToken",
  registry: "ProviderRegistry",
  assignment: "Assignment",
  market: "JobMarket",
} as const;

type ContractKey = keyof typeof CONTRACTS;

/** A CONUN deployment on one chain. */
export interface Deployment {
  chainId: number;
  token: string;
  registry: string;
  market: string;
  assignment: string;
  /**
   * First block an indexer must scan: the earliest block of the module's deployments, so that
   * no CONUN event (the token's mint, a provider registering before the market was connected)
   * precedes it. Use it as the subgraph's `startBlock` for every data source.
   */
  startBlock: number;
  /** The block in which each contract was deployed. */
  deployBlocks: Record<ContractKey, number>;
}

/**
 * A deployment known by its addresses and one start block (a demo's, or one deployed with
 * ethers rather than Ignition), in the shape `readDeployment` returns. The market stands in for
 * the linked `Assignment` library, whose address nobody reads.
 */
export function deploymentFromAddresses(
  chainId: number,
  addresses: { token: string; registry: string; market: string; startBlock: number },
): Deployment {
  const { token, registry, market, startBlock } = addresses;
  return {
    chainId,
    token,
    registry,
    market,
    assignment: market,
    startBlock,
    deployBlocks: {
      token: startBlock,
      registry: startBlock,
      assignment: startBlock,
      market: startBlock,
    },
  };
}

declare module "../errors.ts" {
  interface ConunErrorDomains extends Record<"deployment", DeploymentError> {}
}

/**
 * Raised when a deployment's records are missing (`deployment-not-found`), partial
 * (`deployment-incomplete`: a CONUN contract is not in them) or malformed (`deployment-unreadable`).
 */
// biome-ignore format: a domain's codes stay on one line
export class DeploymentError extends errorClass("deployment", ["deployment-not-found", "deployment-incomplete", "deployment-unreadable"]) {}

export type DeploymentErrorCode = DeploymentError["code"];

export interface ReadDeploymentOptions {
  /** Folder holding Ignition's deployments (default: this repository's ignition/deployments). */
  deploymentsDir?: string;
  /** Ignition deployment id (default: Ignition's own default, `chain-<chainId>`). */
  deploymentId?: string;
}

/**
 * Reads the addresses and deployment blocks of the CONUN contracts on `chainId`.
 * @throws DeploymentError when the chain has no complete deployment of the module.
 */
export async function readDeployment(
  chainId: number,
  options: ReadDeploymentOptions = {},
): Promise<Deployment> {
  const dir = path.join(
    options.deploymentsDir ?? DEFAULT_DEPLOYMENTS_DIR,
    options.deploymentId ?? `chain-${chainId}`,
  );
  const addresses = await readJson(path.join(dir, "deployed_addresses.json"));
  const blocks = confirmedBlocks(await readText(path.join(dir, "journal.jsonl")));

  const found: Partial<Record<ContractKey, { address: string; block: number }>> = {};
  for (const [key, contract] of Object.entries(CONTRACTS) as [ContractKey, string][]) {
    const futureId = `${MODULE_ID}#${contract}`;
    const address = addresses[futureId];
    const block = blocks.get(futureId);
    if (typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
      throw new DeploymentError(
        "deployment-incomplete",
        `${dir} has no address for ${futureId}: run the Ignition deployment to completion`,
      );
    }
    if (block === undefined) {
      throw new DeploymentError(
        "deployment-incomplete",
        `${dir}/journal.jsonl has no confirmed transaction for ${futureId}`,
      );
    }
    found[key] = { address, block };
  }
  const { token, registry, assignment, market } = found as Record<
    ContractKey,
    { address: string; block: number }
  >;
  const deployBlocks = {
    token: token.block,
    registry: registry.block,
    assignment: assignment.block,
    market: market.block,
  };
  return {
    chainId,
    token: token.address,
    registry: registry.address,
    market: market.address,
    assignment: assignment.address,
    startBlock: Math.min(...Object.values(deployBlocks)),
    deployBlocks,
  };
}

/** Block number of each future's confirmed transaction; the latest wins if one was re-run. */
function confirmedBlocks(journal: string): Map<string, number> {
  const blocks = new Map<string, number>();
  for (const line of journal.split("\n")) {
    if (line.trim() === "") continue;
    const message = JSON.parse(line) as {
      type?: string;
      futureId?: string;
      receipt?: { blockNumber?: unknown };
    };
    const blockNumber = message.receipt?.blockNumber;
    if (
      message.type === "TRANSACTION_CONFIRM" &&
      message.futureId !== undefined &&
      typeof blockNumber === "number"
    ) {
      blocks.set(message.futureId, blockNumber);
    }
  }
  return blocks;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new DeploymentError(
      missing ? "deployment-not-found" : "deployment-unreadable",
      missing
        ? `no CONUN deployment recorded at ${path.dirname(file)} (missing ${path.basename(file)})`
        : `cannot read ${file}`,
      { cause },
    );
  }
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  const text = await readText(file);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new DeploymentError("deployment-unreadable", `${file} is not valid JSON`, { cause });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const chainId = Number(process.argv[2] ?? "31337");
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    console.error("usage: node sdk/protocol/deployments.ts <chainId>");
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await readDeployment(chainId), null, 2));
  } catch (error) {
    console.error(error instanceof DeploymentError ? `${error.code}: ${error.message}` : error);
    process.exit(1);
  }
}
