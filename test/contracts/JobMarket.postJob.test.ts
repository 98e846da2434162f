import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { Result } from "ethers";
import type { IJobMarket } from "../../types/ethers-contracts/JobMarket.js";
import {
  at,
  contractsNetwork,
  deployProtocol,
  FEE_BPS,
  jobSpec,
  ONE,
  Status,
  signPermit,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, time } = await contractsNetwork();

const DAY = 24 * 3600;

/** The spec as the JobPosted event encodes it: a tuple in declaration order. */
function specTuple(spec: IJobMarket.JobSpecStruct) {
  return [
    spec.manifestCid,
    spec.manifestDigest,
    spec.imageRef,
    spec.imageDigest,
    spec.taskCount,
    spec.replication,
    spec.quorum,
    spec.maxPrice,
    spec.stakePerTaskReplica,
    spec.biddingWindow,
    spec.executionWindow,
    spec.revealWindow,
    spec.cpuMillicores,
    spec.memoryMiB,
    spec.gpuCount,
  ];
}

async function deployedProtocolFixture() {
  return deployProtocol(connection);
}

/** An account holding tokens that has approved nothing to the market. */
async function unapprovedRequesterFixture() {
  const p = await deployProtocol(connection);
  const newcomer = at(p.others, 0);
  await p.token.transfer(newcomer.address, 1_000n * ONE);
  return { ...p, newcomer, marketAddress: await p.market.getAddress() };
}

describe("JobMarket#postJob", () => {
  const spec = jobSpec({
    taskCount: 5,
    replication: 3,
    quorum: 2,
    maxPrice: 2n * ONE,
    stakePerTaskReplica: 4n * ONE,
    biddingWindow: 900,
    executionWindow: 7200,
    revealWindow: 1200,
    cpuMillicores: 2000,
    memoryMiB: 4096,
    gpuCount: 1,
  });
  const escrow = 5n * 3n * 2n * ONE;

  it("pulls taskCount * replication * maxPrice into escrow and emits JobPosted with the full spec", async () => {
    const { token, market, requester } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const postedAt = BigInt(await time.latest()) + 10n;
    await time.setNextBlockTimestamp(postedAt);

    const tx = await market.connect(requester).postJob(spec);
    await expect(tx)
      .to.emit(market, "JobPosted")
      .withArgs(1n, requester.address, specTuple(spec), postedAt + 900n, escrow, FEE_BPS);
    await expect(tx).to.changeTokenBalances(ethers, token, [requester, market], [-escrow, escrow]);
  });

  it("stores the job with its status, deadline, escrow and the current fee", async () => {
    const { market, requester } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const postedAt = BigInt(await time.latest()) + 10n;
    await time.setNextBlockTimestamp(postedAt);
    await market.connect(requester).postJob(spec);

    const job = await market.getJob(1);
    expect((job as unknown as Result).toObject()).to.deep.equal({
      requester: requester.address,
      status: Status.Open,
      replication: 3n,
      quorum: 2n,
      taskCount: 5n,
      bidCount: 0n,
      groupCount: 0n,
      feeBps: FEE_BPS,
      maxPrice: 2n * ONE,
      stakePerTaskReplica: 4n * ONE,
      biddingDeadline: postedAt + 900n,
      executionWindow: 7200n,
      revealWindow: 1200n,
      commitDeadline: 0n,
      revealDeadline: 0n,
      cpuMillicores: 2000n,
      memoryMiB: 4096n,
      gpuCount: 1n,
      escrow,
    });
    expect(await market.biddersOf(1)).to.deep.equal([]);
  });

  it("numbers jobs from 1 upwards and returns the new id", async () => {
    const { token, market, requester } = await networkHelpers.loadFixture(deployedProtocolFixture);
    expect(await market.jobCount()).to.equal(0n);
    expect((await market.getJob(1)).status).to.equal(Status.None);

    expect(await market.connect(requester).postJob.staticCall(spec)).to.equal(1n);
    await expect(market.connect(requester).postJob(spec))
      .to.emit(market, "JobPosted")
      .withArgs(1n, requester.address, specTuple(spec), anyUint, escrow, FEE_BPS);
    expect(await market.connect(requester).postJob.staticCall(spec)).to.equal(2n);
    await market.connect(requester).postJob(spec);
    await market.connect(requester).postJob(spec);

    expect(await market.jobCount()).to.equal(3n);
    expect((await market.getJob(3)).status).to.equal(Status.Open);
    expect((await market.getJob(4)).status).to.equal(Status.None);
    expect(await token.balanceOf(await market.getAddress())).to.equal(3n * escrow);
  });

  it("accepts every parameter at its documented bound", async () => {
    const { token, market, requester } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const bounds = jobSpec({
      taskCount: 1_000_000,
      replication: 8,
      quorum: 5,
      maxPrice: 1n,
      biddingWindow: 7 * DAY,
      executionWindow: 14 * DAY,
      revealWindow: 3 * DAY,
      cpuMillicores: 1,
      memoryMiB: 1,
    });
    expect(await market.MAX_TASK_COUNT()).to.equal(1_000_000n);
    expect(await market.MAX_REPLICATION()).to.equal(8n);

    const tx = await market.connect(requester).postJob(bounds);
    await expect(tx).to.emit(market, "JobPosted");
    await expect(tx).to.changeTokenBalances(
      ethers,
      token,
      [requester, market],
      [-8_000_000n, 8_000_000n],
    );
    expect((await market.getJob(1)).escrow).to.equal(8_000_000n);
  });

  const invalidSpecs: {
    what: string;
    overrides: Partial<IJobMarket.JobSpecStruct>;
    error: string;
    args: unknown[];
  }[] = [
    {
      what: "zero tasks",
      overrides: { taskCount: 0 },
      error: "JobMarketInvalidTaskCount",
      args: [0],
    },
    {
      what: "more than MAX_TASK_COUNT tasks",
      overrides: { taskCount: 1_000_001 },
      error: "JobMarketInvalidTaskCount",
      args: [1_000_001],
    },
    {
      what: "zero replication",
      overrides: { replication: 0, quorum: 0 },
      error: "JobMarketInvalidReplication",
      args: [0],
    },
    {
      what: "replication above MAX_REPLICATION",
      overrides: { replication: 9, quorum: 5 },
      error: "JobMarketInvalidReplication",
      args: [9],
    },
    {
      what: "a zero quorum",
      overrides: { replication: 3, quorum: 0 },
      error: "JobMarketInvalidQuorum",
      args: [0, 3],
    },
    {
      what: "a quorum of exactly half the replicas",
      overrides: { replication: 4, quorum: 2 },
      error: "JobMarketInvalidQuorum",
      args: [2, 4],
    },
    {
      what: "a quorum below half the replicas",
      overrides: { replication: 3, quorum: 1 },
      error: "JobMarketInvalidQuorum",
      args: [1, 3],
    },
    {
      what: "a quorum above the replication",
      overrides: { replication: 3, quorum: 4 },
      error: "JobMarketInvalidQuorum",
      args: [4, 3],
    },
    {
      what: "a zero max price",
      overrides: { maxPrice: 0 },
      error: "JobMarketInvalidMaxPrice",
      args: [0],
    },
    {
      what: "a zero bidding window",
      overrides: { biddingWindow: 0 },
      error: "JobMarketInvalidWindow",
      args: [0, 7 * DAY],
    },
    {
      what: "a bidding window above MAX_BIDDING_WINDOW",
      overrides: { biddingWindow: 7 * DAY + 1 },
      error: "JobMarketInvalidWindow",
      args: [7 * DAY + 1, 7 * DAY],
    },
    {
      what: "a zero execution window",
      overrides: { executionWindow: 0 },
      error: "JobMarketInvalidWindow",
      args: [0, 14 * DAY],
    },
    {
      what: "an execution window above MAX_EXECUTION_WINDOW",
      overrides: { executionWindow: 14 * DAY + 1 },
      error: "JobMarketInvalidWindow",
      args: [14 * DAY + 1, 14 * DAY],
    },
    {
      what: "a zero reveal window",
      overrides: { revealWindow: 0 },
      error: "JobMarketInvalidWindow",
      args: [0, 3 * DAY],
    },
    {
      what: "a reveal window above MAX_REVEAL_WINDOW",
      overrides: { revealWindow: 3 * DAY + 1 },
      error: "JobMarketInvalidWindow",
      args: [3 * DAY + 1, 3 * DAY],
    },
    {
      what: "a job that needs no CPU",
      overrides: { cpuMillicores: 0, memoryMiB: 512 },
      error: "JobMarketInvalidResources",
      args: [0, 512],
    },
    {
      what: "a job that needs no memory",
      overrides: { cpuMillicores: 1000, memoryMiB: 0 },
      error: "JobMarketInvalidResources",
      args: [1000, 0],
    },
    {
      what: "an empty manifest CID",
      overrides: { manifestCid: "" },
      error: "JobMarketEmptyReference",
      args: [],
    },
    {
      what: "an empty image reference",
      overrides: { imageRef: "" },
      error: "JobMarketEmptyReference",
      args: [],
    },
  ];

  for (const { what, overrides, error, args } of invalidSpecs) {
    it(`rejects ${what} and takes no escrow`, async () => {
      const { token, market, requester } =
        await networkHelpers.loadFixture(deployedProtocolFixture);
      const balanceBefore = await token.balanceOf(requester.address);

      await expect(market.connect(requester).postJob(jobSpec(overrides)))
        .to.be.revertedWithCustomError(market, error)
        .withArgs(...args);
      expect(await market.jobCount()).to.equal(0n);
      expect(await token.balanceOf(requester.address)).to.equal(balanceBefore);
    });
  }

  it("reverts with the token's allowance error when the market may not pull the escrow", async () => {
    const { token, market, newcomer, marketAddress } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    await token.connect(newcomer).approve(marketAddress, escrow - 1n);

    await expect(market.connect(newcomer).postJob(spec))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(marketAddress, escrow - 1n, escrow);
    expect(await market.jobCount()).to.equal(0n);
  });

  it("reverts with the token's balance error when the requester cannot cover the escrow", async () => {
    const { token, market, others, marketAddress } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const poorRequester = at(others, 1);
    await token.transfer(poorRequester.address, escrow - 1n);
    await token.connect(poorRequester).approve(marketAddress, ethers.MaxUint256);

    await expect(market.connect(poorRequester).postJob(spec))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
      .withArgs(poorRequester.address, escrow - 1n, escrow);
    expect(await market.jobCount()).to.equal(0n);
  });
});

describe("JobMarket#postJobWithPermit", () => {
  const spec = jobSpec({ taskCount: 4, replication: 3, quorum: 2, maxPrice: 5n * ONE });
  const escrow = 4n * 3n * 5n * ONE;

  it("posts and escrows in one transaction without a prior approval", async () => {
    const { token, market, newcomer, marketAddress } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const deadline = BigInt(await time.latest()) + 3600n;
    const { v, r, s } = await signPermit(
      connection,
      token,
      newcomer,
      marketAddress,
      escrow,
      deadline,
    );

    const tx = await market.connect(newcomer).postJobWithPermit(spec, deadline, v, r, s);
    await expect(tx)
      .to.emit(market, "JobPosted")
      .withArgs(1n, newcomer.address, specTuple(spec), anyUint, escrow, FEE_BPS);
    await expect(tx).to.changeTokenBalances(ethers, token, [newcomer, market], [-escrow, escrow]);
    expect(await token.allowance(newcomer.address, marketAddress)).to.equal(0n);
    expect(await token.nonces(newcomer.address)).to.equal(1n);
    expect((await market.getJob(1)).requester).to.equal(newcomer.address);
  });

  it("still posts when a front-runner has already submitted the permit", async () => {
    const { token, market, newcomer, marketAddress, others } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const frontRunner = at(others, 2);
    const deadline = BigInt(await time.latest()) + 3600n;
    const { v, r, s } = await signPermit(
      connection,
      token,
      newcomer,
      marketAddress,
      escrow,
      deadline,
    );
    await token
      .connect(frontRunner)
      .permit(newcomer.address, marketAddress, escrow, deadline, v, r, s);

    const tx = await market.connect(newcomer).postJobWithPermit(spec, deadline, v, r, s);
    await expect(tx)
      .to.emit(market, "JobPosted")
      .withArgs(1n, newcomer.address, specTuple(spec), anyUint, escrow, FEE_BPS);
    await expect(tx).to.changeTokenBalances(ethers, token, [newcomer, market], [-escrow, escrow]);
    expect(await market.jobCount()).to.equal(1n);
  });

  it("reverts with the token's allowance error when the permit is invalid and nothing is approved", async () => {
    const { token, market, newcomer, marketAddress } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const deadline = BigInt(await time.latest()) + 3600n;
    // Signed for less than the escrow: the permit fails, is ignored, and the pull fails.
    const { v, r, s } = await signPermit(
      connection,
      token,
      newcomer,
      marketAddress,
      escrow - 1n,
      deadline,
    );

    await expect(market.connect(newcomer).postJobWithPermit(spec, deadline, v, r, s))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(marketAddress, 0, escrow);
    expect(await market.jobCount()).to.equal(0n);
    expect(await token.nonces(newcomer.address)).to.equal(0n);
  });

  it("validates the spec like postJob", async () => {
    const { token, market, newcomer, marketAddress } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const invalid = jobSpec({ taskCount: 0 });
    const deadline = BigInt(await time.latest()) + 3600n;
    const { v, r, s } = await signPermit(connection, token, newcomer, marketAddress, 0n, deadline);

    await expect(market.connect(newcomer).postJobWithPermit(invalid, deadline, v, r, s))
      .to.be.revertedWithCustomError(market, "JobMarketInvalidTaskCount")
      .withArgs(0);
    expect(await market.jobCount()).to.equal(0n);
    // The permit was rolled back with the rest of the transaction.
    expect(await token.nonces(newcomer.address)).to.equal(0n);
  });
});
