// Subgraph host benchmark (`npm run bench:subgraph`): generates ≥ 10,000 market events with
// real transactions on a `hardhat node` child process (jobs with ten bids each, then the
// award: postJob, placeBid and closeBidding emit 2, 2 and ~20 events), indexes the chain from
// scratch with the embedded host, then times typical auditor queries over HTTP. Prints a
// table and writes bench-results/subgraph.json.
//
// Generation uses the node's unlocked accounts (eth_sendTransaction, no signing in JS) with
// automine off: transactions are sent as JSON-RPC batches and mined TXS_PER_BLOCK at a time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { startLocalNode } from "../devnet/chain.ts";
import { jobSpec, ONE } from "../devnet/protocol.ts";
import { createLogger } from "../sdk/logger.ts";
import { overridesForDeployment, startSubgraphHost } from "../subgraph-host/src/index.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../types/ethers-contracts/factories/ProviderRegistry__factory.ts";

const TARGET_EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const BIDS_PER_JOB = 10;
const TXS_PER_BLOCK = 25;
const QUERY_RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 200);
const REPO = path.join(import.meta.dirname, "..");

const token = ConunToken__factory.createInterface();
const registry = ProviderRegistry__factory.createInterface();
const market = JobMarket__factory.createInterface();

interface Tx {
  from: string;
  to: string;
  data: string;
  gas: string;
}

async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
  await post("Profiler.enable");
  await post("Profiler.start");
  return {
    stop: async (file) => {
      const { profile } = (await post("Profiler.stop")) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

async function main(): Promise<void> {
  const log = createLogger({ level: process.env.BENCH_DEBUG ? "debug" : "warn" });
  const node = await startLocalNode();
  const dir = mkdtempSync(path.join(tmpdir(), "conun-bench-subgraph-"));
  try {
    const rpc = node.rpc;
    const d = node.deployment;
    const accounts = node.wallets.map((w) => w.address);
    const [owner, , requester] = accounts as [string, string, string];
    const providers = accounts.slice(3, 3 + BIDS_PER_JOB);

    const send = async (txs: Tx[]) => {
      for (let i = 0; i < txs.length; i += TXS_PER_BLOCK) {
        const chunk = txs.slice(i, i + TXS_PER_BLOCK);
        await Promise.all(chunk.map((tx) => rpc("eth_sendTransaction", [tx])));
        await rpc("evm_mine", []);
      }
    };
    const tx = (from: string, to: string, data: string, gas = 3_000_000): Tx => ({
      from,
      to,
      data,
      gas: `0x${gas.toString(16)}`,
    });

    const started = performance.now();
    // Mining by hand (local-node.ts also pauses its interval mining, so batches stay whole).
    await rpc("evm_setAutomine", [false]);
    // Setup: tokens, registration and stake for the providers, the requester's allowance.
    const stake = 100_000n * ONE;
    await send([
      tx(owner, d.token, token.encodeFunctionData("transfer", [requester, 100_000_000n * ONE])),
      ...providers.map((p) => tx(owner, d.token, token.encodeFunctionData("transfer", [p, stake]))),
    ]);
    await send([
      tx(requester, d.token, token.encodeFunctionData("approve", [d.market, 2n ** 255n])),
      ...providers.flatMap((p) => [
        tx(
          p,
          d.registry,
          registry.encodeFunctionData("register", [
            { cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 },
            "",
          ]),
        ),
        tx(p, d.token, token.encodeFunctionData("approve", [d.registry, stake])),
      ]),
    ]);
    await send(
      providers.map((p) => tx(p, d.registry, registry.encodeFunctionData("stake", [stake]))),
    );

    // ~42 events per job: post (2), ten bids (20), the award (~20).
    const jobs = Math.ceil(TARGET_EVENTS / 40);
    const spec = jobSpec({
      imageRef: `conun/bench@sha256:${"22".repeat(32)}`,
      stakePerTaskReplica: 2n * ONE,
    });
    const firstJob =
      Number(
        await node.provider.send("eth_call", [
          { to: d.market, data: market.encodeFunctionData("jobCount") },
          "latest",
        ]),
      ) + 1;
    await send(
      Array.from({ length: jobs }, () =>
        tx(requester, d.market, market.encodeFunctionData("postJob", [spec])),
      ),
    );
    const jobIds = Array.from({ length: jobs }, (_, i) => firstJob + i);
    await send(
      jobIds.flatMap((jobId) =>
        providers.map((p, i) =>
          tx(
            p,
            d.market,
            market.encodeFunctionData("placeBid", [jobId, ONE / 2n + BigInt(i) * 1000n, 1]),
          ),
        ),
      ),
    );
    await rpc("evm_increaseTime", [3600]);
    await send(
      jobIds.map((jobId) =>
        tx(owner, d.market, market.encodeFunctionData("closeBidding", [jobId]), 6_000_000),
      ),
    );
    await rpc("evm_setAutomine", [true]);
    const head = Number(await rpc("eth_blockNumber", []));
    const generationSeconds = (performance.now() - started) / 1000;

    // Index from scratch (BENCH_PROFILE=<file> writes a CPU profile of this phase).
    const profiler = process.env.BENCH_PROFILE ? await startProfiler() : null;
    const indexStarted = performance.now();
    const host = await startSubgraphHost({
      buildDir: path.join(REPO, "subgraph", "build"),
      rpcUrl: node.url,
      dbPath: path.join(dir, "bench.sqlite"),
      name: "conun",
      port: 0,
      logger: log,
      dataSourceOverrides: overridesForDeployment(d),
    });
    await host.waitForBlock(head, 600_000);
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    if (profiler !== null) await profiler.stop(process.env.BENCH_PROFILE as string);
    const stats = host.indexer.stats;
    const blocks = head - d.startBlock + 1;
    if (host.store.hasIndexingErrors()) throw new Error("indexing errors during the benchmark");

    // Queries, timed over HTTP as a client sees them.
    const topProvider = (providers[0] as string).toLowerCase();
    const queries: { name: string; query: string }[] = [
      {
        name: "jobs(first: 100, where: {status: Awarded}, orderBy: postedAt)",
        query: `{ jobs(first: 100, where: { status: Awarded }, orderBy: postedAt, orderDirection: desc) {
          id status escrow cost requester { id } } }`,
      },
      {
        name: "provider with its bids (first: 100)",
        query: `{ provider(id: "${topProvider}") { id stake locked jobsWon
          bids(first: 100, orderBy: placedAt, orderDirection: desc) { id price status job { id status } } } }`,
      },
      {
        name: "jobs(first: 20) with bids and groups",
        query: `{ jobs(first: 20, orderBy: jobId, orderDirection: desc) { id
          bids { price status provider { id } } groups { members { id } } } }`,
      },
      { name: "_meta", query: "{ _meta { block { number hash } hasIndexingErrors } }" },
    ];
    const results: { name: string; p50Ms: number; p95Ms: number }[] = [];
    for (const q of queries) {
      const timings: number[] = [];
      for (let i = 0; i < QUERY_RUNS + 10; i++) {
        const t0 = performance.now();
        const response = await fetch(host.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: q.query }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json()) as { errors?: unknown[] };
        if (body.errors !== undefined) throw new Error(`${q.name}: ${JSON.stringify(body.errors)}`);
        // The first runs warm up caches and the JIT.
        if (i >= 10) timings.push(performance.now() - t0);
      }
      timings.sort((a, b) => a - b);
      const round = (n: number) => Math.round(n * 100) / 100;
      results.push({
        name: q.name,
        p50Ms: round(percentile(timings, 50)),
        p95Ms: round(percentile(timings, 95)),
      });
    }
    await host.close();

    const output = {
      events: stats.eventsProcessed,
      eventsPerSecond: Math.round(stats.eventsProcessed / indexSeconds),
      blocksPerSecond: Math.round(blocks / indexSeconds),
      queries: results,
    };
    const table = new Table({ head: ["measure", "value"] });
    table.push(
      ["chain generation", `${generationSeconds.toFixed(1)} s (${blocks} blocks, ${jobs} jobs)`],
      ["events indexed", String(output.events)],
      ["blocks scanned", `${blocks} (${stats.blocksProcessed} with events or range ends)`],
      ["indexing time", `${indexSeconds.toFixed(2)} s`],
      ["events / s", String(output.eventsPerSecond)],
      ["blocks / s", String(output.blocksPerSecond)],
    );
    const queryTable = new Table({ head: ["query", "p50 ms", "p95 ms"] });
    for (const r of results) queryTable.push([r.name, r.p50Ms.toFixed(2), r.p95Ms.toFixed(2)]);
    process.stdout.write(
      `${table.toString()}\n${queryTable.toString()}\n(${QUERY_RUNS} runs per query)\n`,
    );
    mkdirSync(path.join(REPO, "bench-results"), { recursive: true });
    writeFileSync(
      path.join(REPO, "bench-results", "subgraph.json"),
      `${JSON.stringify(output, null, 2)}\n`,
    );
    if (output.events < TARGET_EVENTS) throw new Error(`only ${output.events} events generated`);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:subgraph: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
