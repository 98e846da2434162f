/**
 * `npm run subgraph:dev`: hosts one or several graph-cli builds against a JSON-RPC node, prints
 * each GraphQL URL and runs until SIGINT/SIGTERM.
 *
 * Without a build option it hosts CONUN's own subgraph as before: builds it (prepare:local
 * renders subgraph.yaml from the Ignition deployment, then graph codegen + graph build) and
 * points its data sources at the deployment's addresses. Any other build runs as graph-node
 * would run it: addresses and start blocks come from its manifest, nothing is rebuilt.
 *
 *   npm run subgraph:dev -- [--build <dir> | --manifest <build/subgraph.yaml>] [--name <name>]
 *     [--db <file>] | --subgraph <name>=<build dir or subgraph.yaml> … [--db-dir <dir>]
 *     [--rpc http://127.0.0.1:8545] [--port 8000] [--no-build] [--reset]
 *     [--deployment-id <id>] [--deployments-dir <dir>] [--poll-ms 250]
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
import { type HostedSubgraphOptions, overridesForDeployment, startSubgraphHosts } from "./host.ts";
import { resolveManifestPath } from "./manifest.ts";
import { SubgraphHostError } from "./runtime/errors.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const SUBGRAPH_DIR = path.join(REPO, "subgraph");
const CONUN_BUILD = path.join(SUBGRAPH_DIR, "build");
const CONUN_MANIFEST = path.join(CONUN_BUILD, "subgraph.yaml");
const DEFAULT_DB_DIR = path.join(REPO, ".conun", "subgraph-host");
const BUILD_TIMEOUT_MS = 5 * 60_000;

const USAGE = `usage: subgraph:dev [--build <dir> | --manifest <subgraph.yaml>] [--name <name>] [--db <file>]
       subgraph:dev --subgraph <name>=<build dir or subgraph.yaml> [--subgraph …] [--db-dir <dir>]
  [--rpc <url>] [--port <n>] [--no-build] [--reset] [--deployment-id <id>]
  [--deployments-dir <dir>] [--poll-ms <ms>] [--log-level debug|info|warn|error] [--json]
Without --build, --manifest or --subgraph it hosts CONUN's subgraph (subgraph/build) as "conun".`;

function configError(message: string): SubgraphHostError {
  return new SubgraphHostError("host-config-invalid", message);
}

/**
 * graph-node's SubgraphName rules (graph/src/data/subgraph/mod.rs `SubgraphName::new`): 1–255
 * characters of [A-Za-z0-9_-/], each `/`-separated part non-empty, starting and ending with an
 * alphanumeric, holding a letter, and not "graphql".
 */
function checkSubgraphName(name: string, option: string): string {
  const partOk = (part: string) =>
    /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$/.test(part) &&
    /[A-Za-z]/.test(part) &&
    part !== "graphql";
  if (name.length === 0 || name.length > 255 || !name.split("/").every(partOk)) {
    throw configError(
      `${option}: "${name}" is not a subgraph name graph-node accepts: use letters, digits, - and _, in parts separated by /, each starting and ending with a letter or digit (e.g. "uniswap/v3")`,
    );
  }
  return name;
}

/** What the command line asks to host, before anything is read from the chain. */
interface Requested {
  name: string;
  manifestPath: string;
  isConun: boolean;
}

function manifestOf(location: string, option: string): string {
  try {
    return resolveManifestPath(location);
  } catch (error) {
    throw configError(`${option}: ${(error as Error).message}`);
  }
}

function requestedSubgraphs(values: {
  build?: string;
  manifest?: string;
  subgraph?: string[];
  name?: string;
  db?: string;
}): Requested[] {
  const several = values.subgraph ?? [];
  if (several.length > 0) {
    for (const option of ["build", "manifest", "name", "db"] as const) {
      if (values[option] !== undefined) {
        throw configError(
          `--${option} cannot be combined with --subgraph: give each subgraph as --subgraph <name>=<build dir>, and --db-dir for their databases`,
        );
      }
    }
    return several.map((spec) => {
      const equals = spec.indexOf("=");
      if (equals <= 0 || equals === spec.length - 1) {
        throw configError(
          `--subgraph: "${spec}" is not <name>=<build dir or subgraph.yaml> (e.g. --subgraph conun=subgraph/build)`,
        );
      }
      const name = checkSubgraphName(spec.slice(0, equals), `--subgraph ${spec}`);
      const manifestPath = manifestOf(spec.slice(equals + 1), `--subgraph ${spec}`);
      return { name, manifestPath, isConun: manifestPath === CONUN_MANIFEST };
    });
  }
  if (values.build !== undefined && values.manifest !== undefined) {
    throw configError(
      "--build and --manifest name the same thing: pass one (a build folder, or its subgraph.yaml)",
    );
  }
  const location = values.build ?? values.manifest;
  const option = values.build !== undefined ? "--build" : "--manifest";
  const manifestPath = location === undefined ? CONUN_MANIFEST : manifestOf(location, option);
  const isConun = manifestPath === CONUN_MANIFEST;
  // A foreign build is named after the project folder holding its build/ folder.
  const fallbackName = isConun
    ? "conun"
    : path.basename(path.dirname(path.dirname(manifestPath))).replace(/[^A-Za-z0-9_-]/g, "-");
  const name = checkSubgraphName(values.name ?? fallbackName, "--name");
  return [{ name, manifestPath, isConun }];
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Build output goes to stderr: stdout carries only the GraphQL URLs, for scripts.
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
      build: { type: "string" },
      manifest: { type: "string" },
      subgraph: { type: "string", multiple: true },
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      port: { type: "string", default: "8000" },
      "no-build": { type: "boolean", default: false },
      db: { type: "string" },
      "db-dir": { type: "string" },
      reset: { type: "boolean", default: false },
      name: { type: "string" },
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
    throw configError(`--port: "${values.port}" is not a port (0–65535; 0 picks a free one)`);
  const pollIntervalMs = Number(values["poll-ms"]);
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 10)
    throw configError(`--poll-ms: "${values["poll-ms"]}" must be a number ≥ 10`);
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(level))
    throw configError(`--log-level: "${level}" is not debug, info, warn or error`);
  const requested = requestedSubgraphs(values);
  const conun = requested.filter((r) => r.isConun);
  if (conun.length === 0) {
    for (const option of ["deployment-id", "deployments-dir"] as const) {
      if (values[option] !== undefined) {
        throw configError(
          `--${option} applies only to CONUN's build (subgraph/build); a foreign subgraph takes its addresses from its manifest`,
        );
      }
    }
  }
  const logger = createLogger({ level, json: values.json });

  const chainId = await rpcChainId(values.rpc, 5_000).catch((cause: unknown) => {
    throw new SubgraphHostError(
      "rpc-failed",
      `--rpc ${values.rpc}: ${describeError(cause)} (is the node running? npm run deploy:local starts one on :8545)`,
      { cause },
    );
  });
  const deployment =
    conun.length === 0
      ? undefined
      : await readDeployment(chainId, {
          deploymentId: values["deployment-id"],
          deploymentsDir: values["deployments-dir"],
        });
  if (conun.length > 0 && !values["no-build"]) {
    logger.info("building the subgraph", { dir: SUBGRAPH_DIR });
    await run("npm", ["run", "prepare:local"], SUBGRAPH_DIR);
    await run("npm", ["run", "build"], SUBGRAPH_DIR);
  }
  const dbDir = values["db-dir"] ?? DEFAULT_DB_DIR;
  const subgraphs: HostedSubgraphOptions[] = requested.map((r) => {
    const dbPath =
      values.db ?? path.join(dbDir, `${r.name.replaceAll("/", "_")}-${chainId}.sqlite`);
    if (values.reset) rmSync(dbPath, { force: true });
    mkdirSync(path.dirname(dbPath), { recursive: true });
    return {
      buildDir: r.manifestPath,
      dbPath,
      name: r.name,
      dataSourceOverrides:
        r.isConun && deployment !== undefined ? overridesForDeployment(deployment) : undefined,
    };
  });

  const host = await startSubgraphHosts({
    subgraphs,
    rpcUrl: values.rpc,
    port,
    logger,
    pollIntervalMs,
  });
  for (const sub of host.subgraphs) process.stdout.write(`GraphQL: ${sub.url}\n`);

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
