// `npm run subgraph:dev` as a user runs it: a child process reading an Ignition deployment
// record (or a foreign build's own manifest), indexing an HTTP JSON-RPC node, printing the
// GraphQL URLs and stopping on SIGINT; and its refusals of bad input.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import { parse, stringify } from "yaml";
import {
  type Connection,
  deployProtocol,
  type Protocol,
  registerProviders,
} from "../../devnet/protocol.ts";
import { deploymentHash } from "../../subgraph-host/src/deployment-hash.ts";
import { take } from "../helpers/market.ts";
import { BUILD_DIR, type HttpRpcBridge, serveOverHttp } from "../helpers/subgraph-host.ts";

const CLI = path.join(import.meta.dirname, "..", "..", "subgraph-host", "src", "cli.ts");

/** Writes the two files of an Ignition deployment that sdk/protocol/deployments.ts reads. */
async function writeDeploymentRecord(dir: string, p: Protocol, chainId: number): Promise<void> {
  const folder = path.join(dir, `chain-${chainId}`);
  mkdirSync(folder, { recursive: true });
  const addresses: Record<string, string> = {
    "Conun#ConunToken": await p.token.getAddress(),
    "Conun#ProviderRegistry": await p.registry.getAddress(),
    "Conun#Assignment": await p.registry.getAddress(),
    "Conun#JobMarket": await p.market.getAddress(),
  };
  writeFileSync(path.join(folder, "deployed_addresses.json"), JSON.stringify(addresses));
  const journal = Object.keys(addresses).map((futureId) =>
    JSON.stringify({ type: "TRANSACTION_CONFIRM", futureId, receipt: { blockNumber: 1 } }),
  );
  writeFileSync(path.join(folder, "journal.jsonl"), `${journal.join("\n")}\n`);
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the CLI did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? String(signal));
    });
  });
}

/**
 * A copy of CONUN's build outside subgraph/build, its manifest pointing at `p`'s contracts:
 * to the CLI a foreign subgraph, whose addresses come from its manifest.
 */
async function foreignBuild(dir: string, p: Protocol): Promise<string> {
  const build = path.join(dir, "foreign-subgraph", "build");
  cpSync(BUILD_DIR, build, { recursive: true });
  const manifestPath = path.join(build, "subgraph.yaml");
  const manifest = parse(readFileSync(manifestPath, "utf8")) as {
    dataSources: {
      name: string;
      source: { address: string; startBlock: number };
      context?: unknown;
    }[];
  };
  const addresses: Record<string, string> = {
    JobMarket: await p.market.getAddress(),
    ProviderRegistry: await p.registry.getAddress(),
    ConunToken: await p.token.getAddress(),
  };
  for (const ds of manifest.dataSources) {
    ds.source.address = addresses[ds.name] as string;
    ds.source.startBlock = 1;
    if (ds.context !== undefined) {
      ds.context = {
        market: { type: "Bytes", data: addresses.JobMarket },
        registry: { type: "Bytes", data: addresses.ProviderRegistry },
      };
    }
  }
  writeFileSync(manifestPath, stringify(manifest));
  return build;
}

interface Cli {
  child: ChildProcess;
  urls: string[];
  stderr(): string;
}

/** Starts the CLI and resolves once it printed `count` GraphQL URLs. */
function startCli(args: string[], count: number): Promise<Cli> {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ${count} GraphQL URLs printed; stderr: ${stderr}`));
    }, 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited (${code}) before printing its URLs; stderr: ${stderr}`));
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const urls = [...stdout.matchAll(/^GraphQL: (\S+)$/gm)].map((m) => m[1] as string);
      if (urls.length >= count) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, urls, stderr: () => stderr });
      }
    });
  });
}

/** Runs the CLI to its exit; for the refusals. */
function runCli(args: string[]): Promise<{ code: number | string; stderr: string }> {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return exitOf(child, 20_000).then((code) => ({ code, stderr }));
}

interface IndexedState {
  _meta: { block: { number: number }; deployment: string };
  network: { providerCount: number } | null;
}

async function postQuery(url: string, query: string): Promise<{ data?: IndexedState }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(5_000),
  });
  return (await response.json()) as { data?: IndexedState };
}

/** Polls `url` until its _meta block reaches `head`; returns the last state. */
async function indexedUpTo(url: string, head: number): Promise<IndexedState | undefined> {
  let data: IndexedState | undefined;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    // Before the first indexed block, _meta has no block to report and answers with an error.
    data = (
      await postQuery(
        url,
        '{ _meta { block { number } deployment } network(id: "network") { providerCount } }',
      )
    ).data;
    if ((data?._meta?.block.number ?? -1) >= head) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return data;
}

describe("subgraph:dev (subgraph-host/src/cli.ts)", function () {
  this.timeout(60_000);
  let connection: Connection;
  let bridge: HttpRpcBridge;
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    connection = await network.create({ chainType: "l1" });
    bridge = await serveOverHttp(connection);
    dir = mkdtempSync(path.join(tmpdir(), "conun-cli-"));
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
    await bridge.close();
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("indexes the recorded deployment, prints the GraphQL URL and stops on SIGINT", async () => {
    const p = await deployProtocol(connection);
    await registerProviders(p, take(p.providers, 2));
    const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
    await writeDeploymentRecord(path.join(dir, "deployments"), p, chainId);

    child = spawn(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        CLI,
        ...["--rpc", bridge.url, "--port", "0", "--no-build", "--poll-ms", "20"],
        ...[
          "--db",
          path.join(dir, "db.sqlite"),
          "--deployments-dir",
          path.join(dir, "deployments"),
        ],
        ...["--log-level", "warn"],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      const timer = setTimeout(
        () => reject(new Error(`no GraphQL URL printed; stderr: ${stderr}`)),
        20_000,
      );
      child?.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /^GraphQL: (\S+)$/m.exec(stdout);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/subgraphs\/name\/conun$/);

    const head = await connection.ethers.provider.getBlockNumber();
    let data:
      | { _meta: { block: { number: number } }; network: { providerCount: number } | null }
      | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: '{ _meta { block { number } } network(id: "network") { providerCount } }',
        }),
        signal: AbortSignal.timeout(5_000),
      });
      // Before the first indexed block, _meta has no block to report and answers with an error.
      data = ((await response.json()) as { data?: typeof data }).data ?? undefined;
      if ((data?._meta?.block.number ?? -1) >= head) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(data?._meta.block.number).to.equal(head);
    expect(data?.network?.providerCount).to.equal(2);

    child.kill("SIGINT");
    expect(await exitOf(child, 10_000)).to.equal(0);
  });

  it("hosts a foreign build with the addresses of its manifest, without a deployment record", async () => {
    const p = await deployProtocol(connection);
    await registerProviders(p, take(p.providers, 3));
    const build = await foreignBuild(path.join(dir, "single"), p);
    // No --deployments-dir: there is no Ignition record for this chain, which CONUN's build needs.
    const cli = await startCli(
      [
        ...["--build", build, "--rpc", bridge.url, "--port", "0", "--poll-ms", "20"],
        ...["--db", path.join(dir, "foreign.sqlite"), "--log-level", "warn"],
      ],
      1,
    );
    child = cli.child;
    // Named after the project folder holding build/.
    expect(cli.urls[0]).to.match(/^http:\/\/127\.0\.0\.1:\d+\/subgraphs\/name\/foreign-subgraph$/);
    const head = await connection.ethers.provider.getBlockNumber();
    const data = await indexedUpTo(cli.urls[0] as string, head);
    expect(data?._meta.block.number).to.equal(head);
    expect(data?.network?.providerCount).to.equal(3);
    cli.child.kill("SIGINT");
    expect(await exitOf(cli.child, 10_000)).to.equal(0);
  });

  it("serves several subgraphs on one port, by name and by deployment", async () => {
    const p = await deployProtocol(connection);
    await registerProviders(p, take(p.providers, 2));
    const chainId = Number((await connection.ethers.provider.getNetwork()).chainId);
    const deployments = path.join(dir, "several-deployments");
    await writeDeploymentRecord(deployments, p, chainId);
    const build = await foreignBuild(path.join(dir, "several"), p);
    const cli = await startCli(
      [
        ...["--subgraph", `conun=${BUILD_DIR}`, "--subgraph", `acme/market=${build}/subgraph.yaml`],
        ...["--rpc", bridge.url, "--port", "0", "--poll-ms", "20", "--no-build"],
        ...["--db-dir", path.join(dir, "several-db"), "--deployments-dir", deployments],
        ...["--log-level", "warn"],
      ],
      2,
    );
    child = cli.child;
    const [conunUrl, acmeUrl] = cli.urls as [string, string];
    expect(new URL(conunUrl).port).to.equal(new URL(acmeUrl).port);
    expect(new URL(conunUrl).pathname).to.equal("/subgraphs/name/conun");
    expect(new URL(acmeUrl).pathname).to.equal("/subgraphs/name/acme/market");

    const head = await connection.ethers.provider.getBlockNumber();
    const conun = await indexedUpTo(conunUrl, head);
    const acme = await indexedUpTo(acmeUrl, head);
    expect(conun?.network?.providerCount).to.equal(2);
    expect(acme?.network?.providerCount).to.equal(2);
    // Each reports its build's deployment hash (the manifests differ in their addresses) and
    // answers at /subgraphs/id/<that hash>.
    expect(conun?._meta.deployment).to.equal(await deploymentHash(`${BUILD_DIR}/subgraph.yaml`));
    expect(acme?._meta.deployment).to.equal(await deploymentHash(`${build}/subgraph.yaml`));
    expect(acme?._meta.deployment).to.not.equal(conun?._meta.deployment);
    for (const [url, state] of [
      [conunUrl, conun],
      [acmeUrl, acme],
    ] as const) {
      const byId = new URL(`/subgraphs/id/${state?._meta.deployment}`, url).toString();
      const viaId = await postQuery(byId, "{ _meta { deployment } }");
      expect(viaId.data?._meta.deployment).to.equal(state?._meta.deployment);
    }
    // Neither subgraph warned or failed.
    expect(cli.stderr()).to.equal("");
    cli.child.kill("SIGINT");
    expect(await exitOf(cli.child, 10_000)).to.equal(0);
  });

  it("refuses bad input with the problem and the fix", async () => {
    const missing = path.join(dir, "no-such-build");
    const cases: [string[], RegExp][] = [
      [
        ["--build", missing],
        /--build: .*no-such-build does not exist: pass a graph-cli build folder/,
      ],
      [
        ["--build", dir],
        /has no subgraph\.yaml: is it a graph-cli build folder\? Run `graph build`/,
      ],
      [
        ["--build", BUILD_DIR, "--manifest", `${BUILD_DIR}/subgraph.yaml`],
        /--build and --manifest name the same thing/,
      ],
      [["--subgraph", "conun"], /--subgraph: "conun" is not <name>=<build dir or subgraph\.yaml>/],
      [
        ["--subgraph", `a=${BUILD_DIR}`, "--db", "x.sqlite"],
        /--db cannot be combined with --subgraph: .* --db-dir/,
      ],
      [["--name", "graphql"], /--name: "graphql" is not a subgraph name graph-node accepts/],
      [["--name=a//b"], /--name: "a\/\/b" is not a subgraph name/],
      [
        ["--manifest", `${BUILD_DIR}/subgraph.yaml`, "--port", "70000"],
        /--port: "70000" is not a port/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(args);
      expect(code, args.join(" ")).to.equal(1);
      expect(stderr, args.join(" ")).to.match(message);
    }
  });
});
