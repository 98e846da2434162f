// The dApp's action rule (app/src/lib/actions.ts) against a real Hardhat chain: at each phase
// boundary of a job, for the requester, a provider and a stranger, every action the rule
// offers is sent for real and must succeed, and every action it does not offer must revert —
// each tried in a block at the latest block's timestamp and in one a second later (the two
// instants the rule assumes the next block lands at), from a snapshot, so the tries do not
// interfere.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";
import {
  type ActionPlan,
  availableActions,
  type JobActionKind,
  offers,
  readActionFacts,
} from "../../app/src/lib/actions.ts";
import {
  type Connection,
  commitAll,
  deployProtocol,
  ONE,
  type Protocol,
  postJob,
  registerProviders,
  revealAll,
} from "../../devnet/protocol.ts";
import { explainError } from "../../sdk/chain/reverts.ts";
import type { JobMarket } from "../../types/ethers-contracts/JobMarket.ts";

const KINDS: JobActionKind[] = ["cancel", "closeBidding", "finalize", "claim", "withdraw"];
/** Skips gas estimation, so a try runs in the block it is meant for and reverts there. */
const GAS = { gasLimit: 5_000_000 };

describe("dApp#availableActions", function () {
  this.timeout(120_000);
  let connection: Connection;
  let p: Protocol;
  let jobId: bigint;
  let stranger: HardhatEthersSigner;

  before(async () => {
    // As the demo's chain: the next block may share the latest block's timestamp.
    connection = await network.create({
      chainType: "l1",
      override: { allowBlocksWithSameTimestamp: true },
    });
    p = await deployProtocol(connection);
    await registerProviders(p, p.providers.slice(0, 3));
    stranger = p.others[0] as HardhatEthersSigner;
  });

  after(async () => {
    await connection?.close();
  });

  const rpc = (method: string, params: unknown[] = []) =>
    connection.provider.request({ method, params });

  async function latestTime(): Promise<bigint> {
    const block = await connection.ethers.provider.getBlock("latest");
    return BigInt(block?.timestamp ?? 0);
  }

  /** Mines an empty block at exactly `timestamp`. */
  async function mineAt(timestamp: bigint) {
    await rpc("evm_mine", [Number(timestamp)]);
    expect(await latestTime()).to.equal(timestamp);
  }

  function send(market: JobMarket, kind: JobActionKind) {
    switch (kind) {
      case "cancel":
        return market.cancelJob(jobId, GAS);
      case "closeBidding":
        return market.closeBidding(jobId, GAS);
      case "finalize":
        return market.finalize(jobId, GAS);
      case "claim":
        return market.claim(jobId, GAS);
      case "withdraw":
        return market.withdraw(GAS);
    }
  }

  /**
   * Sends `kind` from `who` in a block at `timestamp`, then rewinds. Returns whether it
   * succeeded and, for a claim, whether it collected anything.
   */
  async function attempt(
    who: HardhatEthersSigner,
    kind: JobActionKind,
    timestamp: bigint,
  ): Promise<{ ok: boolean; collected: boolean }> {
    const snapshot = await rpc("evm_snapshot");
    try {
      await rpc("evm_setNextBlockTimestamp", [Number(timestamp)]);
      // A revert surfaces when the transaction is sent (automine) or awaited: both count.
      const receipt = await send(p.market.connect(who), kind)
        .then((tx) => tx.wait())
        .catch(() => null);
      if (receipt === null || receipt.status !== 1) return { ok: false, collected: false };
      const mined = await connection.ethers.provider.getBlock(receipt.blockNumber);
      expect(BigInt(mined?.timestamp ?? 0), "the try ran in the intended block").to.equal(
        timestamp,
      );
      const claimed = receipt.logs
        .map((log) => p.market.interface.parseLog(log))
        .find((event) => event?.name === "Claimed");
      const collected =
        claimed === undefined ||
        claimed === null ||
        (claimed.args.payment as bigint) > 0n ||
        (claimed.args.stakeReleased as bigint) > 0n;
      return { ok: true, collected };
    } finally {
      await rpc("evm_revert", [snapshot]);
    }
  }

  /**
   * Checks the rule for `who` now: an action is offered exactly when it succeeds at both
   * instants (a claim that succeeds but collects nothing is not offered). Returns the plan.
   */
  async function check(who: HardhatEthersSigner): Promise<ActionPlan> {
    const now = await latestTime();
    const facts = await readActionFacts(p.market, connection.ethers.provider, jobId, who.address);
    expect(facts.chainTime).to.equal(now);
    const plan = availableActions(facts);
    for (const kind of KINDS) {
      const same = await attempt(who, kind, now);
      const next = await attempt(who, kind, now + 1n);
      const expected =
        same.ok && next.ok && (kind !== "claim" || (same.collected && next.collected));
      expect(
        offers(plan, kind),
        `${kind} for ${who === p.requester ? "the requester" : who === stranger ? "a stranger" : "a provider"} at chain time ${now} (offered: ${plan.actions.map((a) => a.kind).join(", ") || "nothing"}; succeeds now: ${same.ok}, a second later: ${next.ok})`,
      ).to.equal(expected);
    }
    return plan;
  }

  /** The kinds offered to each of requester, first provider and stranger, after checking. */
  async function offered(): Promise<Record<"requester" | "provider" | "stranger", string[]>> {
    const kinds = (plan: ActionPlan) => plan.actions.map((a) => a.kind);
    return {
      requester: kinds(await check(p.requester)),
      provider: kinds(await check(p.providers[0] as HardhatEthersSigner)),
      stranger: kinds(await check(stranger)),
    };
  }

  async function newJob(): Promise<{ biddingDeadline: bigint }> {
    jobId = await postJob(p, { taskCount: 2, maxPrice: ONE });
    for (const provider of p.providers.slice(0, 3)) {
      await p.market.connect(provider).placeBid(jobId, ONE / 2n, 2);
    }
    return p.market.getJob(jobId);
  }

  async function award(biddingDeadline: bigint) {
    await mineAt(biddingDeadline + 1n);
    await p.market.connect(stranger).closeBidding(jobId);
    return p.market.getJob(jobId);
  }

  it("offers cancel to the requester up to the second before the bidding deadline, and close bidding to anyone only after it", async () => {
    const { biddingDeadline } = await newJob();
    await mineAt(biddingDeadline - 2n);
    expect(await offered()).to.deep.equal({ requester: ["cancel"], provider: [], stranger: [] });
    await mineAt(biddingDeadline - 1n);
    expect(await offered()).to.deep.equal({ requester: ["cancel"], provider: [], stranger: [] });
    // At the deadline itself a block in the same second could still cancel and one a second
    // later could close: neither is certain, so neither is offered.
    await mineAt(biddingDeadline);
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
    await mineAt(biddingDeadline + 1n);
    expect(await offered()).to.deep.equal({
      requester: ["closeBidding"],
      provider: ["closeBidding"],
      stranger: ["closeBidding"],
    });
  });

  it("says when bidding can be closed and until when the job can be cancelled", async () => {
    const { biddingDeadline } = await newJob();
    const plan = availableActions(
      await readActionFacts(p.market, connection.ethers.provider, jobId, p.requester.address),
    );
    expect(plan.cancelUntil).to.equal(biddingDeadline - 1n);
    expect(plan.upcoming).to.deep.equal({ kind: "closeBidding", from: biddingDeadline + 1n });
    const none = availableActions(
      await readActionFacts(p.market, connection.ethers.provider, jobId),
    );
    expect(none.actions).to.deep.equal([], "nobody connected: nothing account-specific");
  });

  it("offers finalize as soon as every member has committed and revealed, then claims to the winners and the refund to the requester", async () => {
    const { biddingDeadline } = await newJob();
    await award(biddingDeadline);
    // The refund of unused escrow (bids at half the max price) is withdrawable at once.
    expect(await offered()).to.deep.equal({ requester: ["withdraw"], provider: [], stranger: [] });
    const providers = p.providers.slice(0, 3);
    for (const provider of providers) await commitAll(connection, p, jobId, provider);
    await revealAll(connection, p, jobId, providers[0] as HardhatEthersSigner);
    await revealAll(connection, p, jobId, providers[1] as HardhatEthersSigner);
    expect(await offered(), "one committed result not revealed yet").to.deep.equal({
      requester: ["withdraw"],
      provider: [],
      stranger: [],
    });
    await revealAll(connection, p, jobId, providers[2] as HardhatEthersSigner);
    expect(await offered()).to.deep.equal({
      requester: ["finalize", "withdraw"],
      provider: ["finalize"],
      stranger: ["finalize"],
    });
    await p.market.connect(stranger).finalize(jobId);
    expect(await offered()).to.deep.equal({
      requester: ["withdraw"],
      provider: ["claim"],
      stranger: [],
    });
    await p.market.connect(providers[0] as HardhatEthersSigner).claim(jobId);
    await p.market.connect(p.requester).withdraw();
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
  });

  it("offers finalize at the commit deadline's end when nobody committed, and not a second before", async () => {
    const { biddingDeadline } = await newJob();
    const { commitDeadline } = await award(biddingDeadline);
    await p.market.connect(p.requester).withdraw();
    await mineAt(commitDeadline - 1n);
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
    await mineAt(commitDeadline);
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
    await mineAt(commitDeadline + 1n);
    expect(await offered()).to.deep.equal({
      requester: ["finalize"],
      provider: ["finalize"],
      stranger: ["finalize"],
    });
  });

  it("waits for the reveal deadline when a committed result is never revealed, and offers no claim that would collect nothing", async () => {
    const { biddingDeadline } = await newJob();
    const { revealDeadline } = await award(biddingDeadline);
    await p.market.connect(p.requester).withdraw();
    const providers = p.providers.slice(0, 3) as HardhatEthersSigner[];
    for (const provider of providers) await commitAll(connection, p, jobId, provider);
    // The first provider commits but never reveals: it holds up finalization until the reveal
    // deadline, and is slashed in every group it belongs to.
    await revealAll(connection, p, jobId, providers[1] as HardhatEthersSigner);
    await revealAll(connection, p, jobId, providers[2] as HardhatEthersSigner);
    await mineAt(revealDeadline - 1n);
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
    await mineAt(revealDeadline);
    expect(await offered()).to.deep.equal({ requester: [], provider: [], stranger: [] });
    await mineAt(revealDeadline + 1n);
    expect(await offered()).to.deep.equal({
      requester: ["finalize"],
      provider: ["finalize"],
      stranger: ["finalize"],
    });
    await p.market.connect(stranger).finalize(jobId);
    const [payment, , stakeReleased] = await p.market.claimableFor(
      jobId,
      providers[0]?.address as string,
    );
    expect(payment + stakeReleased).to.equal(0n, "the silent provider has nothing to collect");
    expect(await offered()).to.deep.equal({
      requester: ["withdraw"],
      provider: [],
      stranger: [],
    });
    const honest = availableActions(
      await readActionFacts(p.market, connection.ethers.provider, jobId, providers[1]?.address),
    );
    expect(honest.actions.map((a) => a.kind)).to.deep.equal(["claim"]);
  });

  it("explains a transaction that reverts anyway with the decoded custom error", async () => {
    const { biddingDeadline } = await newJob();
    await mineAt(biddingDeadline + 1n);
    const error = await p.market
      .connect(p.requester)
      .cancelJob(jobId)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error, "cancelling after the bidding deadline reverts").to.not.equal(undefined);
    expect(explainError(error)).to.equal(
      `The contract refused the transaction: the deadline of job ${jobId} has passed [JobMarketDeadlinePassed(${jobId}, ${biddingDeadline})]`,
    );
  });
});
