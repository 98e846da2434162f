// The devnet's subgraph: the embedded subgraph host in this process, indexing the chain with
// the addresses of its deployment and serving graph-node's GraphQL dialect on a loopback port.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import { overridesForDeployment, startSubgraphHost } from "../subgraph-host/src/index.ts";
import { type Chain, REPO } from "./chain.ts";
import { DevnetStartError } from "./teardown.ts";

const run = promisify(execFile);

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
        throw new DevnetStartError(
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

export interface StartSubgraphOptions {
  /** Where the host keeps its SQLite store. */
  dir: string;
  log?: Logger;
  /** The GraphQL port (default: a free one). */
  port?: number;
}

/** Starts the embedded subgraph host indexing `chain`. */
export async function startSubgraph(
  chain: Pick<Chain, "url" | "deployment">,
  options: StartSubgraphOptions,
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
