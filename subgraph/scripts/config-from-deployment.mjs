// Writes config/<network>.json — the values render-manifest.mjs puts into subgraph.yaml — from
// the Ignition deployment record of one chain, so addresses and start blocks are never typed
// by hand. The record is read by readDeployment() of ../../sdk/protocol/deployments.ts, the one
// reader of Ignition's files in the repository (run this through npm, which puts the root's
// Node 22 first on the PATH: it imports TypeScript). The start block of every data source is
// the deployment's `startBlock`, the earliest block of the module's contracts.
//
// Usage: npm run config -- <network> <chainId>
//          [--deployments-dir <dir>] [--deployment-id <id>] [--graph-network <name>]
//   <network>        name of the config file written: config/<network>.json
//   --graph-network  network name graph-node knows the chain by (default: <network>)
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { readDeployment } from "../../sdk/protocol/deployments.ts";

const SUBGRAPH_DIR = path.join(import.meta.dirname, "..");
const DATA_SOURCES = ["token", "registry", "market"];

const USAGE =
  "usage: npm run config -- <network> <chainId> [--deployments-dir <dir>] " +
  "[--deployment-id <id>] [--graph-network <name>]";

function parseArgs(argv) {
  const positional = [];
  const options = {
    deploymentsDir: undefined,
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

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const deployment = await readDeployment(options.chainId, {
    ...(options.deploymentsDir !== undefined ? { deploymentsDir: options.deploymentsDir } : {}),
    ...(options.deploymentId !== undefined ? { deploymentId: options.deploymentId } : {}),
  });
  const { startBlock } = deployment;
  const config = {
    network: options.graphNetwork ?? options.network,
    chainId: options.chainId,
    startBlock,
  };
  for (const key of DATA_SOURCES) {
    config[key] = {
      address: deployment[key],
      startBlock,
      deployBlock: deployment.deployBlocks[key],
    };
  }
  const target = path.join(SUBGRAPH_DIR, "config", `${options.network}.json`);
  await writeFile(target, `${JSON.stringify(config, null, 2)}\n`);
  console.log(
    `wrote ${path.relative(SUBGRAPH_DIR, target)} for chain ${options.chainId} (start block ${startBlock})`,
  );
}

main().catch((error) => {
  console.error(`config-from-deployment: ${error.message}`);
  process.exit(1);
});
