// Mapping tests: the compiled subgraph runs in the embedded host against the real contracts
// on a Hardhat network, driven through whole job lifecycles; the entities are then read back
// from the host's store. The last test checks that every handler of subgraph.yaml ran.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import { loadManifest } from "../../subgraph-host/src/manifest.ts";
import { closeBiddingAfterDeadline, placeBids, take } from "../helpers/market.ts";
import {
  COOLDOWN,
  type Connection,
  commitAll,
  DEFAULT_PROVIDER_STAKE,
  deployProtocol,
  ONE,
  type Protocol,
  passTime,
  postJob,
  registerProviders,
  revealAll,
} from "../helpers/protocol.ts";
import {
  addressesOf,
  BUILD_DIR,
  type HttpRpcBridge,
  latestBlockOf,
  plain,
  serveOverHttp,
  startTestIndexer,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";

const lower = (s: HardhatEthersSigner | string) =>
  (typeof s === "string" ? s : s.address).toLowerCase();

describe("subgraph mappings", function () {
  this.timeout(120_000);
  let connection: Connection;
  let bridge: HttpRpcBridge;
  let p: Protocol;
  let host: TestIndexer;
  let a: HardhatEthersSigner;
  let b: HardhatEthersSigner;
  let c: HardhatEthersSigner;
  let d: HardhatEthersSigner;
  let e: HardhatEthersSigner;

  const bid = (jobId: bigint, provider: HardhatEthersSigner) =>
    host.entity("Bid", `${jobId}-${lower(provider)}`);
  const member = (jobId: bigint, group: number, provider: HardhatEthersSigner) =>
    host.entity("GroupMember", `${jobId}-${group}-${lower(provider)}`);
  const provider = (signer: HardhatEthersSigner) => host.entity("Provider", lower(signer));
  const where = (type: string, filter: Record<string, unknown>) =>
    host.store
      .findMany({ entity: type, where: filter, first: 1000, skip: 0 })
      .map((data) => plain(data) as Record<string, unknown>);

  /** Posts a 1-task job (k = 3 unless told) and has `bidders` bid `price` for one task each. */
  async function awardedJob(bidders: HardhatEthersSigner[], overrides = {}, price = ONE / 2n) {
    const jobId = await postJob(p, overrides);
    await placeBids(
      p,
      jobId,
      bidders.map((provider) => ({ provider, price, capacity: 1 })),
    );
    await closeBiddingAfterDeadline(connection, p, jobId);
    return jobId;
  }

  before(async () => {
    connection = await network.create({ chainType: "l1" });
    bridge = await serveOverHttp(connection);
    p = await deployProtocol(connection, { providerCount: 8 });
    [a, b, c, d, e] = take(p.providers, 5);
    await registerProviders(p, [a, b, c, d, e]);
    host = startTestIndexer({
      rpcUrl: bridge.url,
      addresses: await addressesOf(p),
      headOf: latestBlockOf(connection),
    });
  });

  after(async () => {
    await host?.destroy();
    await bridge?.close();
    await connection?.close();
  });

  it("records registrations, stakes and the market's settings from deployment", async () => {
    await host.sync();
    const pa = provider(a);
    expect(pa).to.include({
      registered: true,
      cpuMillicores: 8000n,
      memoryMiB: 16384n,
      gpuCount: 0,
    });
    expect(pa).to.include({
      stake: DEFAULT_PROVIDER_STAKE,
      locked: 0n,
      freeStake: DEFAULT_PROVIDER_STAKE,
    });
    const net = host.entity("Network", "network");
    expect(net).to.include({
      providerCount: 5,
      protocolFeeBps: 100,
      treasury: lower(p.treasury),
      market: lower(await p.market.getAddress()),
      totalStaked: 5n * DEFAULT_PROVIDER_STAKE,
    });
    const stakes = where("StakeEvent", { provider: lower(a) });
    expect(stakes.map((s) => s.kind)).to.deep.equal(["Staked"]);
  });

  it("indexes a 1 x 3 job from posting to claims and withdrawals", async () => {
    const jobId = await awardedJob([a, b, c]);
    for (const s of [a, b, c]) await commitAll(connection, p, jobId, s);
    for (const s of [a, b, c]) await revealAll(connection, p, jobId, s);
    await p.market.finalize(jobId);
    for (const s of [a, b, c]) await p.market.connect(s).claim(jobId);
    await p.market.connect(p.requester).withdraw();
    await host.sync();

    const job = host.entity("Job", jobId.toString());
    expect(job).to.include({
      status: "Finalized",
      taskCount: 1,
      replication: 3,
      quorum: 2,
      escrow: 3n * ONE,
      cost: (3n * ONE) / 2n,
      paid: (3n * ONE) / 2n,
      fees: (3n * ONE) / 2n / 100n,
      refunded: (3n * ONE) / 2n,
      escrowHeld: 0n,
      groupCount: 1,
      requester: lower(p.requester),
    });
    expect(job?.winners).to.have.members([lower(a), lower(b), lower(c)]);
    expect(bid(jobId, a)).to.include({ status: "Accepted", allotted: 1, price: ONE / 2n });
    const group = host.entity("ReplicaGroup", `${jobId}-0`);
    expect(group).to.include({
      outcome: "Agreed",
      commitCount: 3,
      revealCount: 3,
      agreeing: 3,
      winnersMask: 7,
    });
    expect(member(jobId, 0, b)).to.include({
      outcome: "Paid",
      payment: ONE / 2n,
      resultsCid: "bafybeiresults",
    });
    expect(where("Commit", { job: jobId.toString() })).to.have.length(3);
    expect(where("Reveal", { job: jobId.toString() })).to.have.length(3);
    const claims = where("Claim", { job: jobId.toString() });
    expect(claims).to.have.length(3);
    expect(claims[0]).to.include({
      payment: ONE / 2n,
      fee: ONE / 200n,
      net: ONE / 2n - ONE / 200n,
    });
    expect(provider(a)).to.include({
      jobsWon: 1,
      tasksCompleted: 1n,
      tasksSettled: 1n,
      successRate: "1",
      membershipsPaid: 1,
      grossEarnings: ONE / 2n,
      netEarnings: ONE / 2n - ONE / 200n,
      locked: 0n,
    });
    const requester = host.entity("Requester", lower(p.requester));
    expect(requester).to.include({ jobCount: 1, escrowed: 3n * ONE, paid: (3n * ONE) / 2n });
    const balance = host.entity("ClaimableBalance", lower(p.requester));
    expect(balance).to.include({
      credited: (3n * ONE) / 2n,
      withdrawn: (3n * ONE) / 2n,
      balance: 0n,
    });
    const flows = where("TokenFlow", { job: jobId.toString() }).map(
      (f) => `${f.direction}:${f.kind}`,
    );
    expect(flows).to.include.members([
      "In:EscrowDeposit",
      "Credit:Refund",
      "Out:Payment",
      "Credit:Fee",
    ]);
    const withdrawals = where("TokenFlow", { kind: "Withdrawal", account: lower(p.requester) });
    expect(withdrawals).to.have.length(1);
    const stakeKinds = where("StakeEvent", { provider: lower(a) }).map((s) => s.kind);
    expect(stakeKinds).to.include.members(["Staked", "Locked", "Unlocked"]);
  });

  it("slashes a provider whose revealed root lost, and pays the agreeing two", async () => {
    const jobId = await awardedJob([a, b, c]);
    await commitAll(connection, p, jobId, a);
    await commitAll(connection, p, jobId, b);
    await commitAll(connection, p, jobId, c, 1);
    await revealAll(connection, p, jobId, a);
    await revealAll(connection, p, jobId, b);
    await revealAll(connection, p, jobId, c, 1);
    await p.market.finalize(jobId);
    await host.sync();

    expect(host.entity("ReplicaGroup", `${jobId}-0`)).to.include({
      outcome: "Agreed",
      agreeing: 2,
    });
    expect(member(jobId, 0, c)).to.include({
      outcome: "Slashed",
      slashReason: "WrongResult",
      payment: 0n,
    });
    const slashes = where("Slash", { job: jobId.toString() });
    expect(slashes).to.have.length(1);
    expect(slashes[0]).to.include({ reason: "WrongResult", amount: 2n * ONE });
    expect(provider(c)).to.include({
      slashCount: 1,
      slashedAmount: 2n * ONE,
      membershipsSlashed: 1,
    });
    expect(provider(c)?.successRate).to.equal("0.5");
    expect(host.entity("Job", jobId.toString())).to.include({
      status: "Finalized",
      slashed: 2n * ONE,
    });
    expect(where("StakeEvent", { provider: lower(c), kind: "Slashed" })).to.have.length(1);
  });

  it("slashes no-shows: one that never committed and one that never revealed", async () => {
    const jobId = await awardedJob([a, b, c, d, e], { replication: 5, quorum: 3 });
    for (const s of [a, b, c, e]) await commitAll(connection, p, jobId, s);
    await passTime(connection, (await p.market.getJob(jobId)).commitDeadline);
    for (const s of [a, b, c]) await revealAll(connection, p, jobId, s);
    await passTime(connection, (await p.market.getJob(jobId)).revealDeadline);
    await p.market.finalize(jobId);
    await host.sync();

    expect(member(jobId, 0, d)).to.include({ outcome: "Slashed", slashReason: "NoCommit" });
    expect(member(jobId, 0, e)).to.include({ outcome: "Slashed", slashReason: "NoReveal" });
    expect(member(jobId, 0, a)).to.include({ outcome: "Paid" });
    expect(where("Slash", { job: jobId.toString() }).map((s) => s.reason)).to.have.members([
      "NoCommit",
      "NoReveal",
    ]);
  });

  it("refunds a group without quorum and pays or slashes nobody who revealed", async () => {
    const jobId = await awardedJob([a, b, c]);
    for (const [i, s] of [a, b, c].entries()) await commitAll(connection, p, jobId, s, i + 10);
    for (const [i, s] of [a, b, c].entries()) await revealAll(connection, p, jobId, s, i + 10);
    await p.market.finalize(jobId);
    await host.sync();

    const group = host.entity("ReplicaGroup", `${jobId}-0`);
    expect(group).to.include({ outcome: "NoQuorum", winnersMask: 0, refund: (3n * ONE) / 2n });
    expect(group?.winningRoot ?? null).to.equal(null);
    for (const s of [a, b, c]) expect(member(jobId, 0, s)).to.include({ outcome: "Unpaid" });
    expect(where("Slash", { job: jobId.toString() })).to.have.length(0);
    expect(host.entity("Job", jobId.toString())).to.include({
      refunded: 3n * ONE,
      status: "Finalized",
    });
  });

  it("marks an unfilled job and releases its bids as JobUnfilled", async () => {
    const jobId = await awardedJob([a, b]);
    await host.sync();
    expect(host.entity("Job", jobId.toString())).to.include({
      status: "Unfilled",
      refunded: 3n * ONE,
    });
    expect(bid(jobId, a)).to.include({ status: "Released", releaseReason: "JobUnfilled" });
  });

  it("marks a cancelled job and releases its bids as JobCancelled", async () => {
    const jobId = await postJob(p);
    await placeBids(p, jobId, [{ provider: a, price: ONE, capacity: 1 }]);
    await p.market.connect(p.requester).cancelJob(jobId);
    await host.sync();
    expect(host.entity("Job", jobId.toString())).to.include({
      status: "Cancelled",
      refunded: 3n * ONE,
    });
    expect(bid(jobId, a)).to.include({ status: "Released", releaseReason: "JobCancelled" });
    expect(host.entity("Network", "network")).to.include({ jobsCancelled: 1 });
  });

  it("records withdrawn bids and bids outbid at the award", async () => {
    const jobId = await postJob(p);
    await placeBids(p, jobId, [
      { provider: a, price: ONE / 4n, capacity: 1 },
      { provider: b, price: ONE / 4n, capacity: 1 },
      { provider: c, price: ONE / 4n, capacity: 1 },
      { provider: d, price: ONE, capacity: 1 },
      { provider: e, price: ONE / 4n, capacity: 1 },
    ]);
    await p.market.connect(e).withdrawBid(jobId);
    await closeBiddingAfterDeadline(connection, p, jobId);
    await host.sync();
    expect(bid(jobId, e)).to.include({ status: "Withdrawn" });
    expect(bid(jobId, d)).to.include({ status: "Released", releaseReason: "LostAtAward" });
    expect(provider(e)).to.include({ withdrawnBidCount: 1 });
    expect(provider(d)?.jobsLost).to.equal(1);
    expect(host.entity("Job", jobId.toString())).to.include({ status: "Awarded" });
  });

  it("follows profile updates, unstake requests and unstaking", async () => {
    await p.registry
      .connect(a)
      .updateProvider({ cpuMillicores: 4000, memoryMiB: 2048, gpuCount: 1 }, "ipfs://profile");
    await p.registry.connect(a).requestUnstake(ONE);
    await passTime(
      connection,
      BigInt((await connection.ethers.provider.getBlock("latest"))?.timestamp ?? 0) + COOLDOWN,
    );
    await p.registry.connect(a).withdrawUnstaked();
    await host.sync();
    expect(provider(a)).to.include({
      cpuMillicores: 4000n,
      gpuCount: 1,
      metadataURI: "ipfs://profile",
      unbonding: 0n,
    });
    const kinds = where("StakeEvent", { provider: lower(a) }).map((s) => s.kind);
    expect(kinds).to.include.members(["UnstakeRequested", "Unstaked"]);
  });

  it("follows protocol fee and treasury changes", async () => {
    const [newTreasury] = take(p.others, 1);
    await p.market.setProtocolFee(250);
    await p.market.setTreasury(newTreasury.address);
    await host.sync();
    expect(host.entity("Network", "network")).to.include({
      protocolFeeBps: 250,
      treasury: lower(newTreasury),
    });
  });

  it("keeps token transfers to and from the protocol's contracts only", async () => {
    const [x, y] = take(p.others, 2);
    await p.token.transfer(x.address, ONE);
    await p.token.connect(x).transfer(y.address, ONE / 2n);
    await host.sync();
    expect(where("TokenTransfer", { from: lower(x) })).to.have.length(0);
    const deposits = where("TokenTransfer", { toHolder: "Market" });
    expect(deposits.length).to.be.greaterThan(0);
    expect(deposits.every((t) => t.to === lower(p.market.target as string))).to.equal(true);
    expect(where("TokenTransfer", { toHolder: "Registry", fromHolder: "Account" }).length).to.equal(
      5,
    );
  });

  it("has run every handler of subgraph.yaml", () => {
    const manifest = loadManifest(BUILD_DIR);
    const declared = manifest.dataSources.flatMap((ds) =>
      ds.eventHandlers.map((h) => `${ds.name}.${h.handler}`),
    );
    const missing = declared.filter((name) => !host.indexer.stats.handlerCalls.has(name));
    expect(missing).to.deep.equal([]);
    expect(host.store.hasIndexingErrors()).to.equal(false);
  });
});
