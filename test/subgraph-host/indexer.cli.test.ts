// `npm run subgraph:dev` as a user runs it: a child process reading an Ignition deployment
// record, indexing an HTTP JSON-RPC node, printing the GraphQL URL and stopping on SIGINT.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import {
  type Connection,
  deployProtocol,
  type Protocol,
  registerProviders,
} from "../../devnet/protocol.ts";
import { take } from "../helpers/market.ts";
import { type HttpRpcBridge, serveOverHttp } from "../helpers/subgraph-host.ts";

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
});
