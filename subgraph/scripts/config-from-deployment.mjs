// Writes config/<network>.json — the values render-manifest.mjs puts into subgraph.yaml — from
// the Ignition deployment record of one chain, so addresses and start blocks are never typed
// by hand.
//
// It mirrors readDeployment() of ../scripts/deployments.ts (which this dependency-free script
// cannot import: Node 20 does not run TypeScript): ignition/deployments/chain-<chainId>/
// deployed_addresses.json maps the future ids `Conun#<Contract>` to addresses, and
// journal.jsonl holds each future's TRANSACTION_CONFIRM message with its receipt's block
// number (the latest one wins if a future was re-run). The start block of every data source is
// the earliest of those blocks, as readDeployment's `startBlock` documents.
//
// Usage: node scripts/config-from-deployment.mjs <network> <chainId>
//          [--deployments-dir <dir>] [--deployment-id <id>] [--graph-network <name>]
//   <network>        name of the config file written: config/<network>.json
//   --graph-network  network name graph-node knows the chain by (default: <network>)
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const SUBGRAPH_DIR = path.join(import.meta.dirname, "..");
const MODULE_ID = "Conun";
// All four futures of the module must be confirmed, as readDeployment requires; the Assignment
// library emits nothing, so it gets no data source, but its block counts for the start block.
const CONTRACTS = {
  token: "ConunToken",
  registry: "ProviderRegistry",
  assignment: "Assignment",
  market: "JobMarket",
};
const DATA_SOURCES = ["token", "registry", "market"];
const USAGE =
  "usage: config-from-deployment.mjs <network> <chainId> [--deployments-dir <dir>] " +
  "[--deployment-id <id>] [--graph-network <name>]";

function parseArgs(argv) {
  const positional = [];
  const options = {
    deploymentsDir: path.join(SUBGRAPH_DIR, "..", "ignition", "deployments"),
    deploymentId: undefined,
    graphNetwork: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--deployments-dir" && value !== undefined) options.deploymentsDir = value;
    else if (flag === "--deployment-id" && value !== undefined) options.deploymentId = value;
    else if (flag === "--graph-network" && value !== undefined) options.graphNetwork = value;
    else if (flag.startsWith("--")) throw new Error(`unknown option ${flag}; ${USAGE}`);
    else {
      positional.push(flag);
      continue;
    }
    i++;
  }
  const [network, chainIdText] = positional;
  const chainId = Number(chainIdText);
  if (positional.length !== 2 || !/^[a-z0-9-]+$/i.test(network)) throw new Error(USAGE);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new Error(`chainId must be a positive integer, got "${chainIdText}"; ${USAGE}`);
  }
  return { ...options, network, chainId };
}

async function readText(file) {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    if (cause.code === "ENOENT") {
      throw new Error(
        `no CONUN deployment recorded at ${path.dirname(file)} (missing ${path.basename(file)}): ` +
          "deploy with Ignition first (`npm run deploy:local` in the repository root)",
      );
    }
    throw cause;
  }
}

/** Block number of each future's confirmed transaction; the latest wins if one was re-run. */
function confirmedBlocks(journal) {
  const blocks = new Map();
  for (const line of journal.split("\n")) {
    if (line.trim() === "") continue;
    const message = JSON.parse(line);
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

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const dir = path.join(options.deploymentsDir, options.deploymentId ?? `chain-${options.chainId}`);
  const addresses = JSON.parse(await readText(path.join(dir, "deployed_addresses.json")));
  const blocks = confirmedBlocks(await readText(path.join(dir, "journal.jsonl")));

  const found = {};
  for (const [key, contract] of Object.entries(CONTRACTS)) {
    const futureId = `${MODULE_ID}#${contract}`;
    const address = addresses[futureId];
    const block = blocks.get(futureId);
    if (typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
      throw new Error(
        `${dir} has no address for ${futureId}: run the Ignition deployment to completion`,
      );
    }
    if (block === undefined) {
      throw new Error(`${dir}/journal.jsonl has no confirmed transaction for ${futureId}`);
    }
    found[key] = { address, deployBlock: block };
  }
  const startBlock = Math.min(...Object.values(found).map((entry) => entry.deployBlock));

  const config = {
    network: options.graphNetwork ?? options.network,
    chainId: options.chainId,
    startBlock,
  };
  for (const key of DATA_SOURCES) {
    config[key] = { address: found[key].address, startBlock, deployBlock: found[key].deployBlock };
  }
  const target = path.join(SUBGRAPH_DIR, "config", `${options.network}.json`);
  await writeFile(target, `${JSON.stringify(config, null, 2)}\n`);
  console.log(
    `wrote ${path.relative(SUBGRAPH_DIR, target)} from ${dir} (start block ${startBlock})`,
  );
}

main().catch((error) => {
  console.error(`config-from-deployment: ${error.message}`);
  process.exit(1);
});
