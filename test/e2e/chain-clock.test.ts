// Chain time follows the wall clock on the local chains the project starts: the demo's node
// (devnet/chain-node.ts, also the end-to-end test's and bench's) and the test helpers' node
// (devnet/chain.ts, also the worker cluster's and the subgraph bench's). Nobody sends
// a transaction here, yet blocks keep coming and their timestamps keep up with real time; a
// transaction is still mined at once.
import { expect } from "chai";
import type { JsonRpcProvider, Signer } from "ethers";
import { startChain, startLocalNode } from "../../devnet/chain.ts";

/** Polls until `check` passes or `timeoutMs` elapses (then throws what it last saw). */
async function waitFor<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean) {
  const deadline = Date.now() + 20_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(last)}`);
}

async function expectIdleChainFollowsWallClock(provider: JsonRpcProvider, wallet: Signer) {
  const first = await provider.getBlock("latest");
  if (first === null) throw new Error("no latest block");
  const wallStart = Date.now() / 1000;
  // Three more blocks with nothing sent: only interval mining can make them.
  const later = await waitFor(
    "an idle chain to mine three more blocks",
    async () => provider.getBlock("latest"),
    (block) => block !== null && block.number >= first.number + 3,
  );
  if (later === null) throw new Error("no latest block");
  const wallNow = Date.now() / 1000;
  // Chain time moved forward with real time: at least two of the seconds that passed…
  expect(later.timestamp - first.timestamp).to.be.at.least(2);
  // …and it is near the wall clock (setup transactions may push it a little ahead).
  expect(Math.abs(later.timestamp - wallNow)).to.be.below(30);
  expect(wallNow - wallStart).to.be.at.least(2);

  // Automine is still on: a transaction does not wait for the next interval block.
  const sent = Date.now();
  const to = await wallet.getAddress();
  const receipt = await (await wallet.sendTransaction({ to, value: 1n })).wait(1, 10_000);
  expect(receipt?.status).to.equal(1);
  expect(Date.now() - sent).to.be.below(5_000);
}

describe("local chains follow the wall clock", function () {
  this.timeout(180_000);

  it("the demo's node (devnet/chain-node.ts) mines a block a second when idle", async () => {
    const chain = await startChain({ deploy: "direct" });
    try {
      const wallet = chain.wallets[7];
      if (wallet === undefined) throw new Error("no account 7");
      await expectIdleChainFollowsWallClock(chain.provider, wallet);
    } finally {
      await chain.stop();
    }
  });

  it("the test helpers' node (devnet/chain.ts) mines a block a second when idle", async () => {
    const node = await startLocalNode({ deploy: false });
    try {
      // The helper's nonce-counting signer: the provider caches nonces.
      const wallet = node.signer(7);
      await expectIdleChainFollowsWallClock(node.provider, wallet);

      // A test that mines by hand still can: with automine off, nothing is mined by itself.
      await node.rpc("evm_setAutomine", [false]);
      try {
        // Raw calls: the provider would answer a repeated eth_blockNumber from its cache.
        const head = async () => Number(await node.rpc("eth_blockNumber"));
        const held = await head();
        const tx = await wallet.sendTransaction({ to: await wallet.getAddress(), value: 2n });
        // "Nothing is mined" can only be seen over a span of time: 2.5 interval periods.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        const stillHeld = { block: await head() };
        expect(stillHeld.block).to.equal(held);
        expect(await node.provider.getTransactionReceipt(tx.hash)).to.equal(null);
      } finally {
        await node.rpc("evm_setAutomine", [true]);
      }
      // Switched back on, interval mining resumes.
      const resumed = await node.provider.getBlockNumber();
      await waitFor(
        "interval mining to resume",
        async () => node.provider.getBlockNumber(),
        (n) => n >= resumed + 2,
      );
    } finally {
      await node.stop();
    }
  });
});
