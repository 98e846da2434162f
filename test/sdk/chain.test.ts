import { expect } from "chai";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { network } from "hardhat";
import { type LocalNode, ONE, startLocalNode } from "../../devnet/chain.ts";
import { deployProtocol, postJob, registerProviders } from "../../devnet/protocol.ts";
import {
  ChainError,
  connectContracts,
  connectRpc,
  decodeRevert,
  formatRevert,
  isTransientRpcError,
  type TxEvent,
  TxSender,
} from "../../sdk/chain/index.ts";
import { createLogger, silentLogger } from "../../sdk/logger.ts";
import { startTcpProxy, type TcpProxy } from "../worker/support/tcp-proxy.ts";

const connection = await network.create({ chainType: "l1" });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("decodeRevert", () => {
  it("names the market's custom error and its arguments", async () => {
    const p = await deployProtocol(connection);
    const [provider] = p.providers;
    if (provider === undefined) throw new Error("no provider");
    await registerProviders(p, [provider]);
    const jobId = await postJob(p);
    const error = await rejection(p.market.connect(provider).placeBid(jobId, 2n * ONE, 1));
    const revert = decodeRevert(error);
    expect(revert?.name).to.equal("JobMarketBidTooHigh");
    expect(revert?.args).to.deep.equal([jobId, 2n * ONE, ONE]);
    expect(formatRevert(revert as NonNullable<typeof revert>)).to.equal(
      `JobMarketBidTooHigh(${jobId}, ${2n * ONE}, ${ONE})`,
    );
  });

  it("names an error raised by the registry inside a market call", async () => {
    const p = await deployProtocol(connection);
    const [provider] = p.providers;
    if (provider === undefined) throw new Error("no provider");
    await registerProviders(p, [provider], ONE);
    const jobId = await postJob(p);
    const error = await rejection(p.market.connect(provider).placeBid(jobId, ONE, 1));
    const revert = decodeRevert(error);
    expect(revert?.name).to.equal("ProviderRegistryInsufficientFreeStake");
    expect(revert?.args).to.deep.equal([provider.address, 2n * ONE, ONE]);
  });

  it("decodes raw revert data and reports unknown selectors as such", () => {
    expect(decodeRevert("0x1234567800")).to.deep.include({
      name: "unknown",
      signature: "0x12345678",
    });
    expect(decodeRevert(new Error("no data here"))).to.equal(undefined);
  });
});

describe("isTransientRpcError", () => {
  it("retries transport failures but not reverts", () => {
    expect(
      isTransientRpcError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })),
    ).to.equal(true);
    expect(
      isTransientRpcError(new Error("fetch failed", { cause: { code: "ECONNRESET" } })),
    ).to.equal(true);
    expect(isTransientRpcError(Object.assign(new Error("x"), { code: "CALL_EXCEPTION" }))).to.equal(
      false,
    );
    expect(isTransientRpcError(new Error("execution reverted"))).to.equal(false);
  });
});

describe("TxSender#send", function () {
  this.timeout(60_000);
  let node: LocalNode;
  let proxy: TcpProxy;

  before(async () => {
    node = await startLocalNode();
    proxy = await startTcpProxy(node.port);
  });

  after(async () => {
    await proxy?.close();
    await node?.stop();
  });

  function senderFor(
    account: number,
    options: { url?: string; receiptTimeoutMs?: number; maxAttempts?: number } = {},
  ) {
    const provider = connectRpc(options.url ?? node.url, node.chainId, {
      timeoutMs: 1000,
      pollingIntervalMs: 50,
    });
    const wallet = new Wallet(node.keys[account] as string, provider);
    const events: TxEvent[] = [];
    const sender = new TxSender({
      wallet,
      chainId: BigInt(node.chainId),
      logger: process.env.DEBUG_SENDER ? createLogger({ level: "debug" }) : silentLogger,
      receiptTimeoutMs: options.receiptTimeoutMs ?? 5000,
      retryDelayMs: 100,
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      onEvent: (event) => events.push(event),
    });
    const contracts = connectContracts(node.deployment, provider);
    return { sender, events, contracts, provider, wallet };
  }

  async function approveTx(contracts: ReturnType<typeof senderFor>["contracts"], amount: bigint) {
    return contracts.token.approve.populateTransaction(node.deployment.market, amount);
  }

  it("sends back to back with its own nonces and returns successful receipts", async () => {
    const { sender, contracts, provider, events } = senderFor(10);
    const receipts = await Promise.all(
      [1n, 2n, 3n].map(async (n) => sender.send("approve", await approveTx(contracts, n))),
    );
    expect(receipts.map((r) => r.status)).to.deep.equal([1, 1, 1]);
    expect(new Set(receipts.map((r) => r.hash)).size).to.equal(3);
    expect(await contracts.token.allowance(sender.address, node.deployment.market)).to.equal(3n);
    expect(events.filter((e) => e.kind === "retry")).to.deep.equal([]);
    provider.destroy();
  });

  it("fails a reverting transaction at once with the decoded custom error", async () => {
    const { sender, contracts, provider, events } = senderFor(11);
    const error = await rejection(
      sender.send("placeBid", await contracts.market.placeBid.populateTransaction(999n, 1n, 1)),
    );
    expect(error).to.be.instanceOf(ChainError);
    expect((error as ChainError).code).to.equal("tx-reverted");
    expect((error as ChainError).revert?.name).to.equal("JobMarketUnknownJob");
    expect((error as ChainError).message).to.equal("reverted: JobMarketUnknownJob(999)");
    expect(events.map((e) => e.kind)).to.deep.equal(["failed"]);
    provider.destroy();
  });

  it("recovers when another transaction took its nonce", async () => {
    const { sender, contracts, provider, wallet, events } = senderFor(12);
    await sender.send("approve", await approveTx(contracts, 1n));
    // The same key used elsewhere: the sender's next nonce is now stale.
    const outside = new Wallet(
      node.keys[12] as string,
      new JsonRpcProvider(node.url, Network.from(node.chainId), {
        staticNetwork: true,
        pollingInterval: 50,
      }),
    );
    await (await outside.sendTransaction({ to: wallet.address, value: 1n })).wait();
    const receipt = await sender.send("approve", await approveTx(contracts, 7n));
    expect(receipt.status).to.equal(1);
    expect(await contracts.token.allowance(sender.address, node.deployment.market)).to.equal(7n);
    expect(events.some((e) => e.kind === "retry")).to.equal(true);
    outside.provider?.destroy();
    provider.destroy();
  });

  it("keeps waiting through a receipt timeout and finds the transaction once mined", async () => {
    const { sender, contracts, provider, events } = senderFor(13, { receiptTimeoutMs: 400 });
    await node.rpc("evm_setAutomine", [false]);
    try {
      const sent = sender.send("approve", await approveTx(contracts, 5n));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await node.rpc("evm_mine", []);
      const receipt = await sent;
      expect(receipt.status).to.equal(1);
      expect(events.filter((e) => e.kind === "retry").length).to.be.greaterThan(0);
      // Rebroadcasting the same signed transaction never creates a second one.
      expect(new Set(events.filter((e) => e.kind === "sent").map((e) => e.hash)).size).to.equal(1);
    } finally {
      await node.rpc("evm_setAutomine", [true]);
    }
    provider.destroy();
  });

  it("retries through a dropped connection and completes once the node is back", async () => {
    const { sender, contracts, provider, events } = senderFor(14, { url: proxy.url });
    const tx = await approveTx(contracts, 9n);
    await proxy.cut();
    const sent = sender.send("approve", tx);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await proxy.restore();
    const receipt = await sent;
    expect(receipt.status).to.equal(1);
    expect(events.filter((e) => e.kind === "retry").length).to.be.greaterThan(0);
    const direct = connectContracts(node.deployment, node.provider);
    expect(await direct.token.allowance(sender.address, node.deployment.market)).to.equal(9n);
    provider.destroy();
  });

  it("gives up after its attempts when the node stays away", async () => {
    const { sender, contracts, provider, events } = senderFor(15, {
      url: proxy.url,
      maxAttempts: 2,
    });
    const tx = await approveTx(contracts, 1n);
    await proxy.cut();
    try {
      const error = await rejection(sender.send("approve", tx));
      expect(error).to.be.instanceOf(ChainError);
      expect((error as ChainError).code).to.equal("tx-failed");
      expect(events.map((e) => e.kind)).to.deep.equal(["retry", "retry", "failed"]);
    } finally {
      await proxy.restore();
    }
    provider.destroy();
  });
});
