/**
 * `npm run subgraph:dev`: builds the subgraph (prepare:local renders subgraph.yaml from the
 * Ignition deployment, then graph codegen + graph build), starts the embedded host against a
 * JSON-RPC node with the deployment's addresses, prints the GraphQL URL and runs until
 * SIGINT/SIGTERM.
 *
 *   npm run subgraph:dev -- [--rpc http://127.0.0.1:8545] [--port 8000] [--no-build]
 *     [--db <file>] [--reset] [--name conun] [--deployment-id <id>] [--deployments-dir <dir>]
 *     [--poll-ms 250]
 *     [--log-level info] [--json]
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { rpcChainId } from "../../sdk/chain/rpc.ts";
import { describeError } from "../../sdk/errors.ts";
import { createLogger, type LogLevel } from "../../sdk/logger.ts";
import { readDeployment } from "../../sdk/protocol/deployments.ts";
import { overridesForDeployment, startSubgraphHost } from "./host.ts";
import { SubgraphHostError } from "./runtime/errors.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const SUBGRAPH_DIR = path.join(REPO, "subgraph");
const BUILD_TIMEOUT_MS = 5 * 60_000;

const USAGE = `usage: subgraph:dev [--rpc <url>] [--port <n>] [--no-build] [--db <file>] [--reset]
  [--name <subgraph>] [--deployment-id <id>] [--deployments-dir <dir>] [--poll-ms <ms>]
  [--log-level debug|info|warn|error] [--json]`;

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Build output goes to stderr: stdout carries only the GraphQL URL, for scripts.
    const child = spawn(command, args, { cwd, stdio: ["ignore", 2, 2] });
    const timer = setTimeout(() => child.kill("SIGTERM"), BUILD_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new SubgraphHostError(
            "build-failed",
            `${command} ${args.join(" ")} failed (${signal ?? code})`,
          ),
        );
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      port: { type: "string", default: "8000" },
      "no-build": { type: "boolean", default: false },
      db: { type: "string" },
      reset: { type: "boolean", default: false },
      name: { type: "string", default: "conun" },
      "deployment-id": { type: "string" },
      "deployments-dir": { type: "string" },
      "poll-ms": { type: "string", default: "250" },
      "log-level": { type: "string", default: "info" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SubgraphHostError("host-config-invalid", `--port: "${values.port}" is not a port`);
  const pollIntervalMs = Number(values["poll-ms"]);
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 10) {
    throw new SubgraphHostError(
      "host-config-invalid",
      `--poll-ms: "${values["poll-ms"]}" must be a number ≥ 10`,
    );
  }
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new SubgraphHostError(
      "host-config-invalid",
      `--log-level: "${level}" is not debug, info, warn or error`,
    );
  }
  const logger = createLogger({ level, json: values.json });

  const chainId = await rpcChainId(values.rpc, 5_000).catch((cause: unknown) => {
    throw new SubgraphHostError("rpc-failed", describeError(cause), { cause });
  });
  const deployment = await readDeployment(chainId, {
    deploymentId: values["deployment-id"],
    deploymentsDir: values["deployments-dir"],
  });
  if (!values["no-build"]) {
    logger.info("building the subgraph", { dir: SUBGRAPH_DIR });
    await run("npm", ["run", "prepare:local"], SUBGRAPH_DIR);
    await run("npm", ["run", "build"], SUBGRAPH_DIR);
  }
  const dbPath =
    values.db ?? path.join(REPO, ".conun", "subgraph-host", `${values.name}-${chainId}.sqlite`);
  if (values.reset) rmSync(dbPath, { force: true });
  mkdirSync(path.dirname(dbPath), { recursive: true });

  const host = await startSubgraphHost({
    buildDir: path.join(SUBGRAPH_DIR, "build"),
    rpcUrl: values.rpc,
    dbPath,
    name: values.name,
    port,
    logger,
    dataSourceOverrides: overridesForDeployment(deployment),
    pollIntervalMs,
  });
  process.stdout.write(`GraphQL: ${host.url}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error: describeError(error) });
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`subgraph:dev: ${describeError(error)}\n`);
  process.exit(1);
});
