// Mapping tests: the compiled subgraph runs in the embedded host against the real contracts
// on a Hardhat network, driven through whole job lifecycles; the entities are then queried
// through the host's GraphQL endpoint over HTTP. The last test checks that every handler of
// subgraph.yaml ran.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import {
  bookChainOf,
  COOLDOWN,
  type Connection,
  commitAll,
  DEFAULT_PROVIDER_STAKE,
  deployProtocol,
  fillBidBook,
  ONE,
  type Protocol,
  passTime,
  postJob,
  registerProviders,
  revealAll,
} from "../../devnet/protocol.ts";
import { loadManifest } from "../../subgraph-host/src/manifest.ts";
import { closeBiddingAfterDeadline, placeBids, take } from "../helpers/market.ts";
import {
  BUILD_DIR,
  type HttpRpcBridge,
  indexProtocol,
  serveOverHttp,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";

const lower = (s: HardhatEthersSigner | string) =>
  (typeof s === "string" ? s : s.address).toLowerCase();
const str = (n: bigint) => n.toString();
// biome-ignore lint/suspicious/noExplicitAny: GraphQL results are checked field by field
type Q = any;

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

  const memberId = (jobId: bigint, group: number, provider: HardhatEthersSigner) =>
    `${jobId}-${group}-${lower(provider)}`;

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
    host = await indexProtocol(connection, p, bridge.url);
  });

  after(async () => {
    await host?.destroy();
    await bridge?.close();
    await connection?.close();
  });

  it("records registrations, stakes and the market's settings from deployment", async () => {
    await host.sync();
    const r = await host.query<Q>(
      `query ($a: ID!) {
        provider(id: $a) { registered cpuMillicores memoryMiB gpuCount stake locked freeStake
          stakeEvents { kind amount } }
        network(id: "network") { providerCount protocolFeeBps treasury market totalStaked }
      }`,
      { a: lower(a) },
    );
    expect(r.provider).to.deep.include({
      registered: true,
      cpuMillicores: "8000",
      memoryMiB: "16384",
      gpuCount: 0,
      stake: str(DEFAULT_PROVIDER_STAKE),
      locked: "0",
      freeStake: str(DEFAULT_PROVIDER_STAKE),
      stakeEvents: [{ kind: "Staked", amount: str(DEFAULT_PROVIDER_STAKE) }],
    });
    expect(r.network).to.deep.equal({
      providerCount: 5,
      protocolFeeBps: 100,
      treasury: lower(p.treasury),
      market: lower(await p.market.getAddress()),
      totalStaked: str(5n * DEFAULT_PROVIDER_STAKE),
    });
  });

  it("indexes a 1 x 3 job from posting to claims and withdrawals", async () => {
    const jobId = await awardedJob([a, b, c]);
    for (const s of [a, b, c]) await commitAll(connection, p, jobId, s);
    for (const s of [a, b, c]) await revealAll(connection, p, jobId, s);
    await p.market.finalize(jobId);
    for (const s of [a, b, c]) await p.market.connect(s).claim(jobId);
    await p.market.connect(p.requester).withdraw();
    await host.sync();

    const half = ONE / 2n;
    const r = await host.query<Q>(
      `query ($job: ID!, $a: ID!, $requester: ID!, $account: Bytes!) {
        job(id: $job) {
          status taskCount replication quorum escrow cost paid fees refunded escrowHeld groupCount
          requester { id jobCount escrowed paid refunded }
          winners { id }
          bids(orderBy: price) { status allotted price }
          groups { outcome commitCount revealCount agreeing winnersMask
            memberships(orderBy: lane) { lane outcome payment resultsCid provider { id } } }
          commits { id } reveals { resultRoot }
          claims { payment fee net }
          flows { direction kind }
        }
        provider(id: $a) { jobsWon tasksCompleted tasksSettled successRate membershipsPaid
          grossEarnings netEarnings locked stakeEvents { kind } }
        claimableBalance(id: $requester) { credited withdrawn balance }
        tokenFlows(where: { kind: Withdrawal, account: $account }) { amount }
      }`,
      {
        job: jobId.toString(),
        a: lower(a),
        requester: lower(p.requester),
        account: lower(p.requester),
      },
    );
    expect(r.job).to.deep.include({
      status: "Finalized",
      taskCount: 1,
      replication: 3,
      quorum: 2,
      escrow: str(3n * ONE),
      cost: str(3n * half),
      paid: str(3n * half),
      fees: str((3n * half) / 100n),
      refunded: str(3n * half),
      escrowHeld: "0",
      groupCount: 1,
      requester: {
        id: lower(p.requester),
        jobCount: 1,
        escrowed: str(3n * ONE),
        paid: str(3n * half),
        refunded: str(3n * half),
      },
    });
    expect(r.job.winners.map((w: Q) => w.id)).to.have.members([lower(a), lower(b), lower(c)]);
    expect(r.job.bids).to.deep.equal(
      Array(3).fill({ status: "Accepted", allotted: 1, price: str(half) }),
    );
    const [group] = r.job.groups;
    expect(group).to.deep.include({
      outcome: "Agreed",
      commitCount: 3,
      revealCount: 3,
      agreeing: 3,
      winnersMask: 7,
    });
    expect(group.memberships.map((m: Q) => m.outcome)).to.deep.equal(["Paid", "Paid", "Paid"]);
    expect(group.memberships[0]).to.deep.include({
      lane: 0,
      payment: str(half),
      resultsCid: "bafybeiresults",
    });
    expect(r.job.commits).to.have.length(3);
    expect(r.job.reveals).to.have.length(3);
    expect(r.job.claims).to.deep.equal(
      Array(3).fill({ payment: str(half), fee: str(half / 100n), net: str(half - half / 100n) }),
    );
    const flows = r.job.flows.map((f: Q) => `${f.direction}:${f.kind}`);
    expect(flows).to.include.members([
      "In:EscrowDeposit",
      "Credit:Refund",
      "Out:Payment",
      "Credit:Fee",
    ]);
    expect(r.provider).to.deep.include({
      jobsWon: 1,
      tasksCompleted: "1",
      tasksSettled: "1",
      successRate: "1",
      membershipsPaid: 1,
      grossEarnings: str(half),
      netEarnings: str(half - half / 100n),
      locked: "0",
    });
    expect(r.provider.stakeEvents.map((e: Q) => e.kind)).to.include.members([
      "Staked",
      "Locked",
      "Unlocked",
    ]);
    expect(r.claimableBalance).to.deep.equal({
      credited: str(3n * half),
      withdrawn: str(3n * half),
      balance: "0",
    });
    expect(r.tokenFlows).to.deep.equal([{ amount: str(3n * half) }]);
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

    const r = await host.query<Q>(
      `query ($job: ID!, $member: ID!, $c: ID!, $cRef: String!) {
        job(id: $job) { status slashed groups { outcome agreeing } slashes { reason amount provider { id } } }
        groupMember(id: $member) { outcome slashReason payment slashedAmount }
        provider(id: $c) { slashCount slashedAmount membershipsSlashed successRate }
        stakeEvents(where: { provider: $cRef, kind: Slashed }) { amount jobId }
      }`,
      { job: jobId.toString(), member: memberId(jobId, 0, c), c: lower(c), cRef: lower(c) },
    );
    expect(r.job).to.deep.equal({
      status: "Finalized",
      slashed: str(2n * ONE),
      groups: [{ outcome: "Agreed", agreeing: 2 }],
      slashes: [{ reason: "WrongResult", amount: str(2n * ONE), provider: { id: lower(c) } }],
    });
    expect(r.groupMember).to.deep.equal({
      outcome: "Slashed",
      slashReason: "WrongResult",
      payment: "0",
      slashedAmount: str(2n * ONE),
    });
    // c settled two memberships (the happy path's and this one) and completed one.
    expect(r.provider).to.deep.equal({
      slashCount: 1,
      slashedAmount: str(2n * ONE),
      membershipsSlashed: 1,
      successRate: "0.5",
    });
    expect(r.stakeEvents).to.deep.equal([{ amount: str(2n * ONE), jobId: jobId.toString() }]);
  });

  it("slashes no-shows: one that never committed and one that never revealed", async () => {
    const jobId = await awardedJob([a, b, c, d, e], { replication: 5, quorum: 3 });
    for (const s of [a, b, c, e]) await commitAll(connection, p, jobId, s);
    await passTime(connection, (await p.market.getJob(jobId)).commitDeadline);
    for (const s of [a, b, c]) await revealAll(connection, p, jobId, s);
    await passTime(connection, (await p.market.getJob(jobId)).revealDeadline);
    await p.market.finalize(jobId);
    await host.sync();

    const r = await host.query<Q>(
      `query ($group: ID!) {
        replicaGroup(id: $group) { outcome agreeing memberships { outcome slashReason provider { id } } }
      }`,
      { group: `${jobId}-0` },
    );
    const byProvider = new Map(r.replicaGroup.memberships.map((m: Q) => [m.provider.id, m]));
    expect(byProvider.get(lower(d))).to.deep.include({
      outcome: "Slashed",
      slashReason: "NoCommit",
    });
    expect(byProvider.get(lower(e))).to.deep.include({
      outcome: "Slashed",
      slashReason: "NoReveal",
    });
    expect(byProvider.get(lower(a))).to.deep.include({ outcome: "Paid", slashReason: null });
    expect(r.replicaGroup).to.deep.include({ outcome: "Agreed", agreeing: 3 });
  });

  it("refunds a group without quorum and pays or slashes nobody who revealed", async () => {
    const jobId = await awardedJob([a, b, c]);
    for (const [i, s] of [a, b, c].entries()) await commitAll(connection, p, jobId, s, i + 10);
    for (const [i, s] of [a, b, c].entries()) await revealAll(connection, p, jobId, s, i + 10);
    await p.market.finalize(jobId);
    await host.sync();

    const r = await host.query<Q>(
      `query ($job: ID!) {
        job(id: $job) { status refunded slashes { id }
          groups { outcome winningRoot winnersMask refund memberships { outcome } } }
      }`,
      { job: jobId.toString() },
    );
    expect(r.job).to.deep.equal({
      status: "Finalized",
      refunded: str(3n * ONE),
      slashes: [],
      groups: [
        {
          outcome: "NoQuorum",
          winningRoot: null,
          winnersMask: 0,
          refund: str((3n * ONE) / 2n),
          memberships: Array(3).fill({ outcome: "Unpaid" }),
        },
      ],
    });
  });

  it("marks an unfilled job and releases its bids as JobUnfilled", async () => {
    const jobId = await awardedJob([a, b]);
    await host.sync();
    const r = await host.query<Q>(
      `query ($job: ID!) { job(id: $job) { status refunded bids { status releaseReason } } }`,
      { job: jobId.toString() },
    );
    expect(r.job).to.deep.equal({
      status: "Unfilled",
      refunded: str(3n * ONE),
      bids: Array(2).fill({ status: "Released", releaseReason: "JobUnfilled" }),
    });
  });

  it("marks a cancelled job and releases its bids as JobCancelled", async () => {
    const jobId = await postJob(p);
    await placeBids(p, jobId, [{ provider: a, price: ONE, capacity: 1 }]);
    await p.market.connect(p.requester).cancelJob(jobId);
    await host.sync();
    const r = await host.query<Q>(
      `query ($job: ID!) {
        job(id: $job) { status refunded bids { status releaseReason } }
        network(id: "network") { jobsCancelled }
      }`,
      { job: jobId.toString() },
    );
    expect(r.job).to.deep.equal({
      status: "Cancelled",
      refunded: str(3n * ONE),
      bids: [{ status: "Released", releaseReason: "JobCancelled" }],
    });
    expect(r.network.jobsCancelled).to.equal(1);
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
    const r = await host.query<Q>(
      `query ($job: ID!, $d: ID!, $e: ID!) {
        job(id: $job) { status standingBidCount }
        bidD: bid(id: "${jobId}-${lower(d)}") { status releaseReason }
        bidE: bid(id: "${jobId}-${lower(e)}") { status releaseReason }
        d: provider(id: $d) { jobsLost }
        e: provider(id: $e) { withdrawnBidCount }
      }`,
      { job: jobId.toString(), d: lower(d), e: lower(e) },
    );
    expect(r).to.deep.equal({
      job: { status: "Awarded", standingBidCount: 4 },
      bidD: { status: "Released", releaseReason: "LostAtAward" },
      bidE: { status: "Withdrawn", releaseReason: null },
      d: { jobsLost: 1 },
      e: { withdrawnBidCount: 1 },
    });
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
    const r = await host.query<Q>(
      `query ($a: ID!) {
        provider(id: $a) { cpuMillicores memoryMiB gpuCount metadataURI unbonding
          stakeEvents(where: { kind_in: [UnstakeRequested, Unstaked] }, orderBy: blockNumber) { kind amount } }
      }`,
      { a: lower(a) },
    );
    expect(r.provider).to.deep.equal({
      cpuMillicores: "4000",
      memoryMiB: "2048",
      gpuCount: 1,
      metadataURI: "ipfs://profile",
      unbonding: "0",
      stakeEvents: [
        { kind: "UnstakeRequested", amount: str(ONE) },
        { kind: "Unstaked", amount: str(ONE) },
      ],
    });
  });

  it("follows protocol fee and treasury changes", async () => {
    const [newTreasury] = take(p.others, 1);
    await p.market.setProtocolFee(250);
    await p.market.setTreasury(newTreasury.address);
    await host.sync();
    const r = await host.query<Q>(`{ network(id: "network") { protocolFeeBps treasury } }`);
    expect(r.network).to.deep.equal({ protocolFeeBps: 250, treasury: lower(newTreasury) });
  });

  it("keeps token transfers to and from the protocol's contracts only", async () => {
    const [x, y] = take(p.others, 2);
    await p.token.transfer(x.address, ONE);
    await p.token.connect(x).transfer(y.address, ONE / 2n);
    await host.sync();
    const market = lower(await p.market.getAddress());
    const r = await host.query<Q>(
      `query ($x: Bytes!) {
        fromX: tokenTransfers(where: { from: $x }) { id }
        toX: tokenTransfers(where: { to: $x }) { id }
        deposits: tokenTransfers(first: 1000, where: { toHolder: Market }) { to fromHolder }
        stakes: tokenTransfers(where: { toHolder: Registry, fromHolder: Account }) { amount }
      }`,
      { x: lower(x) },
    );
    expect(r.fromX).to.deep.equal([]);
    expect(r.toX).to.deep.equal([]);
    expect(r.deposits.length).to.be.greaterThan(0);
    expect(r.deposits.every((t: Q) => t.to === market)).to.equal(true);
    expect(r.stakes).to.deep.equal(Array(5).fill({ amount: str(DEFAULT_PROVIDER_STAKE) }));
  });

  // After the token-transfer test: the book's wallets stake as well.
  it("records a bid evicted from a full book by a cheaper one", async () => {
    const jobId = await postJob(p, { taskCount: 10 });
    const wallets = await fillBidBook(bookChainOf(connection, p), jobId, {
      price: ONE,
      capacity: 1,
    });
    const evicted = lower(wallets[wallets.length - 1] ?? "");
    await p.market.connect(a).placeBid(jobId, ONE / 2n, 1);
    await host.sync();
    const r = await host.query<Q>(
      `query ($job: ID!, $evicted: ID!) {
        job(id: $job) { standingBidCount }
        bid(id: "${jobId}-${evicted}") { status stakeReleased evictedBy { id } }
        provider(id: $evicted) { evictedBidCount }
      }`,
      { job: jobId.toString(), evicted },
    );
    expect(r).to.deep.equal({
      job: { standingBidCount: 64 },
      bid: { status: "Evicted", stakeReleased: str(2n * ONE), evictedBy: { id: lower(a) } },
      provider: { evictedBidCount: 1 },
    });
  });

  it("keeps day statistics and the market's ledger consistent with the totals and the chain", async () => {
    await host.sync();
    const r = await host.query<Q>(`{
      network(id: "network") { jobCount bidCount jobsFinalized volumeEscrowed volumePaid feesCollected
        slashCount escrowHeld }
      networkDayDatas(first: 1000) { jobsPosted bidsPlaced jobsFinalized volumeEscrowed volumePaid
        feesCollected slashCount }
      providers(first: 1000) { id bidCount grossEarnings slashCount
        dayData(first: 1000) { bids earnings slashCount } }
      claimableBalances(first: 1000) { balance }
      tokenTransfers(first: 1000) { fromHolder toHolder amount }
    }`);
    const sum = (items: Q[], field: string) =>
      items.reduce((n: bigint, x: Q) => n + BigInt(x[field]), 0n);
    const days = r.networkDayDatas;
    expect(sum(days, "jobsPosted")).to.equal(BigInt(r.network.jobCount));
    expect(sum(days, "bidsPlaced")).to.equal(BigInt(r.network.bidCount));
    expect(sum(days, "jobsFinalized")).to.equal(BigInt(r.network.jobsFinalized));
    expect(sum(days, "slashCount")).to.equal(BigInt(r.network.slashCount));
    for (const field of ["volumeEscrowed", "volumePaid", "feesCollected"]) {
      expect(sum(days, field)).to.equal(BigInt(r.network[field]), field);
    }
    for (const prov of r.providers) {
      expect(sum(prov.dayData, "bids")).to.equal(BigInt(prov.bidCount));
      expect(sum(prov.dayData, "earnings")).to.equal(BigInt(prov.grossEarnings));
      expect(sum(prov.dayData, "slashCount")).to.equal(BigInt(prov.slashCount));
    }
    // The market holds exactly what it owes: escrow still held plus every claimable balance,
    // and that is what the token transfers into and out of it add up to.
    const marketBalance = await p.token.balanceOf(await p.market.getAddress());
    expect(BigInt(r.network.escrowHeld) + sum(r.claimableBalances, "balance")).to.equal(
      marketBalance,
    );
    const moved = r.tokenTransfers.reduce(
      (n: bigint, t: Q) =>
        n +
        (t.toHolder === "Market" ? BigInt(t.amount) : 0n) -
        (t.fromHolder === "Market" ? BigInt(t.amount) : 0n),
      0n,
    );
    expect(moved).to.equal(marketBalance);
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
