// The indexer's own behaviour against a real (in-process, HTTP-served) Hardhat network:
// restarts, chain rewinds, RPC outages and handler failures.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";
import { afterEach, beforeEach, describe, it } from "mocha";
import {
  type Connection,
  DEFAULT_PROVIDER_STAKE,
  deployProtocol,
  ONE,
  type Protocol,
  postJob,
  registerProviders,
} from "../../devnet/protocol.ts";
import { take } from "../helpers/market.ts";
import {
  type HttpRpcBridge,
  indexProtocol,
  serveOverHttp,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";

describe("Indexer", function () {
  this.timeout(60_000);
  let connection: Connection;
  let bridge: HttpRpcBridge;
  let p: Protocol;
  let hosts: TestIndexer[];
  let providers: HardhatEthersSigner[];

  const start = async (options: { dbPath?: string; startBlock?: number } = {}) => {
    const host = await indexProtocol(connection, p, bridge.url, options);
    hosts.push(host);
    return host;
  };
  const networkEntity = (host: TestIndexer) => host.entity("Network", "network");

  beforeEach(async () => {
    hosts = [];
    connection = await network.create({ chainType: "l1" });
    bridge = await serveOverHttp(connection);
    p = await deployProtocol(connection, { providerCount: 6 });
    providers = p.providers;
  });

  afterEach(async () => {
    for (const host of hosts) await host.destroy();
    await bridge.close();
    await connection.close();
  });

  it("resumes from its stored head after a restart without losing or repeating events", async () => {
    const [a, b] = take(providers, 2);
    const first = await start();
    await registerProviders(p, [a]);
    await first.sync();
    const dbPath = first.dbPath;
    const headBefore = first.store.head()?.number ?? -1;
    await first.close();

    await registerProviders(p, [b]);
    const second = await start({ dbPath });
    await second.sync();
    expect(networkEntity(second)).to.include({
      providerCount: 2,
      totalStaked: 2n * DEFAULT_PROVIDER_STAKE,
    });
    expect(second.entity("Provider", b.address.toLowerCase())).to.include({ registered: true });
    // Only the blocks after the restart were processed by the second indexer.
    expect(second.indexer.stats.blocksProcessed).to.be.greaterThan(0);
    expect(second.store.head()?.number).to.be.greaterThan(headBefore);
    expect(
      second.indexer.stats.handlerCalls.get("ProviderRegistry.handleProviderRegistered"),
    ).to.equal(1);
  });

  it("re-indexes from the fork point when the chain is rewound (evm_snapshot / evm_revert)", async () => {
    const [a, b, c] = take(providers, 3);
    const host = await start();
    await registerProviders(p, [a]);
    await host.sync();
    const forkHead = host.store.head();
    const snapshot = await connection.provider.request({ method: "evm_snapshot", params: [] });

    await registerProviders(p, [b]);
    await host.sync();
    expect(networkEntity(host)).to.include({ providerCount: 2 });

    await connection.provider.request({ method: "evm_revert", params: [snapshot] });
    // The new branch: a different provider, and more blocks than the abandoned one had.
    await registerProviders(p, [c]);
    await connection.provider.request({ method: "hardhat_mine", params: ["0x5"] });
    await host.sync();

    expect(host.indexer.stats.reorgs).to.be.greaterThan(0);
    expect(host.entity("Provider", b.address.toLowerCase())).to.equal(null);
    expect(host.entity("Provider", c.address.toLowerCase())).to.include({ registered: true });
    expect(networkEntity(host)).to.include({
      providerCount: 2,
      totalStaked: 2n * DEFAULT_PROVIDER_STAKE,
    });
    expect(host.store.blockHash(forkHead?.number ?? -1)).to.equal(forkHead?.hash);
  });

  it("rides out an RPC outage and catches up when the node is back", async () => {
    const [a, b] = take(providers, 2);
    const host = await start();
    await registerProviders(p, [a]);
    await host.sync();
    const head = host.store.head()?.number;

    bridge.setAvailable(false);
    await registerProviders(p, [b]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(host.indexer.state).to.equal("rpc-unavailable");
    expect(host.store.head()?.number).to.equal(head);

    bridge.setAvailable(true);
    await host.sync();
    expect(networkEntity(host)).to.include({ providerCount: 2 });
    expect(host.indexer.state).to.be.oneOf(["synced", "syncing"]);
  });

  it("narrows its eth_getLogs range when the node refuses a large one", async () => {
    const [a, b] = take(providers, 2);
    await registerProviders(p, [a, b]);
    // A node that, like hosted RPCs, refuses log queries spanning more than 4 blocks.
    const capped = await serveOverHttp(connection, (method, params) => {
      if (method !== "eth_getLogs") return undefined;
      const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
      return Number(toBlock) - Number(fromBlock) + 1 > 4
        ? { code: -32005, message: "query exceeds max block range 4" }
        : undefined;
    });
    try {
      const host = await indexProtocol(connection, p, capped.url);
      hosts.push(host);
      await host.sync();
      expect(networkEntity(host)).to.include({
        providerCount: 2,
        totalStaked: 2n * DEFAULT_PROVIDER_STAKE,
      });
    } finally {
      await hosts.pop()?.destroy();
      await capped.close();
    }
  });

  it("stops at a failing handler, keeps the block out and records the indexing error", async () => {
    const [a] = take(providers, 1);
    await registerProviders(p, [a]);
    const jobId = await postJob(p);
    // Starting after JobPosted, the market's mapping meets a bid for a job it never saw.
    const startBlock = (await connection.ethers.provider.getBlockNumber()) + 1;
    const host = await start({ startBlock });
    const tx = await p.market.connect(a).placeBid(jobId, ONE / 2n, 1);
    const receipt = await tx.wait();
    let failure: unknown;
    try {
      await host.sync(10_000);
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(
      /critical: event for job 1, which no JobPosted created.*handleBidPlaced/,
    );
    expect(host.indexer.state).to.equal("failed");
    expect(host.store.hasIndexingErrors()).to.equal(true);
    expect(host.store.head()?.number ?? -1).to.be.lessThan(receipt?.blockNumber ?? 0);
    expect(host.entity("Bid", `${jobId}-${a.address.toLowerCase()}`)).to.equal(null);
    const waited = await host.indexer.waitForBlock(receipt?.blockNumber ?? 0).then(
      () => "resolved",
      (error: unknown) => String(error),
    );
    expect(waited).to.match(/handleBidPlaced/);
  });
});
