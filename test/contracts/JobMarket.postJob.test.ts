import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { Result } from "ethers";
import type { IJobMarket } from "../../types/ethers-contracts/JobMarket.js";
import {
  at,
  contractsNetwork,
  deployProtocol,
  expectPulledWithPermit,
  FEE_BPS,
  jobSpec,
  ONE,
  permitsTo,
  Status,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, time } = await contractsNetwork();

const DAY = 24 * 3600;

/** Each of a spec's windows, with the constant that caps it and that constant's value. */
const windowBounds = [
  { field: "biddingWindow", label: "bidding window", maxName: "MAX_BIDDING_WINDOW", max: 7 * DAY },
  {
    field: "executionWindow",
    label: "execution window",
    maxName: "MAX_EXECUTION_WINDOW",
    max: 14 * DAY,
  },
  { field: "revealWindow", label: "reveal window", maxName: "MAX_REVEAL_WINDOW", max: 3 * DAY },
] as const;

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
  const marketAddress = await p.market.getAddress();
  return {
    ...p,
    newcomer,
    marketAddress,
    permitToMarket: permitsTo(connection, p.token, marketAddress),
  };
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

  // By the error each spec is rejected with: what it is, the overrides that make it, the error's
  // arguments.
  const invalidByError: Record<string, [string, Partial<IJobMarket.JobSpecStruct>, unknown[]][]> = {
    JobMarketInvalidTaskCount: [
      ["zero tasks", { taskCount: 0 }, [0]],
      ["more than MAX_TASK_COUNT tasks", { taskCount: 1_000_001 }, [1_000_001]],
    ],
    JobMarketInvalidReplication: [
      ["zero replication", { replication: 0, quorum: 0 }, [0]],
      ["replication above MAX_REPLICATION", { replication: 9, quorum: 5 }, [9]],
    ],
    JobMarketInvalidQuorum: [
      ["a zero quorum", { replication: 3, quorum: 0 }, [0, 3]],
      ["a quorum of exactly half the replicas", { replication: 4, quorum: 2 }, [2, 4]],
      ["a quorum below half the replicas", { replication: 3, quorum: 1 }, [1, 3]],
      ["a quorum above the replication", { replication: 3, quorum: 4 }, [4, 3]],
    ],
    JobMarketInvalidMaxPrice: [["a zero max price", { maxPrice: 0 }, [0]]],
    // Attack 7's free stall: a 1-wei bidder on a zero-stake job wins, never serves, loses nothing.
    JobMarketStakeTooLow: [
      ["no stake", { maxPrice: ONE, stakePerTaskReplica: 0 }, [0, ONE]],
      [
        "a stake below the max price",
        { maxPrice: ONE, stakePerTaskReplica: ONE - 1n },
        [ONE - 1n, ONE],
      ],
    ],
    JobMarketInvalidResources: [
      ["a job that needs no CPU", { cpuMillicores: 0, memoryMiB: 512 }, [0, 512]],
      ["a job that needs no memory", { cpuMillicores: 1000, memoryMiB: 0 }, [1000, 0]],
    ],
    JobMarketEmptyReference: [
      ["an empty manifest CID", { manifestCid: "" }, []],
      ["an empty image reference", { imageRef: "" }, []],
    ],
    // Each window: zero, and one second past its documented maximum.
    JobMarketInvalidWindow: windowBounds.flatMap(({ field, label, maxName, max }) => [
      [`a zero ${label}`, { [field]: 0 }, [0, max]],
      [
        `${/^[aeiou]/.test(label) ? "an" : "a"} ${label} above ${maxName}`,
        { [field]: max + 1 },
        [max + 1, max],
      ],
    ]),
  };
  const invalidSpecs = Object.entries(invalidByError).flatMap(([error, cases]) =>
    cases.map(([what, overrides, args]) => ({ what, overrides, error, args })),
  );

  it("documents the window maximums the invalid specs below go one past", async () => {
    const { market } = await networkHelpers.loadFixture(deployedProtocolFixture);
    for (const { maxName, max } of windowBounds) expect(await market[maxName]()).to.equal(max);
  });

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
  const spec = jobSpec({
    taskCount: 4,
    replication: 3,
    quorum: 2,
    maxPrice: 5n * ONE,
    stakePerTaskReplica: 5n * ONE,
  });
  const escrow = 4n * 3n * 5n * ONE;

  /**
   * The newcomer signs a permit for the escrow (`options` as for `permitToMarket`) and posts
   * `spec` with it: job 1 is posted and the escrow moves in.
   */
  async function expectPostsWithPermit(
    f: Awaited<ReturnType<typeof unapprovedRequesterFixture>>,
    options?: Parameters<typeof f.permitToMarket>[2],
  ) {
    const { deadline, v, r, s } = await f.permitToMarket(f.newcomer, escrow, options);
    const tx = await f.market.connect(f.newcomer).postJobWithPermit(spec, deadline, v, r, s);
    await expect(tx)
      .to.emit(f.market, "JobPosted")
      .withArgs(1n, f.newcomer.address, specTuple(spec), anyUint, escrow, FEE_BPS);
    await expectPulledWithPermit(connection, tx, f.token, f.newcomer, f.market, escrow);
  }

  it("posts and escrows in one transaction without a prior approval", async () => {
    const f = await networkHelpers.loadFixture(unapprovedRequesterFixture);
    await expectPostsWithPermit(f);
    expect((await f.market.getJob(1)).requester).to.equal(f.newcomer.address);
  });

  it("still posts when a front-runner has already submitted the permit", async () => {
    const f = await networkHelpers.loadFixture(unapprovedRequesterFixture);
    await expectPostsWithPermit(f, { submittedFirstBy: at(f.others, 2) });
    expect(await f.market.jobCount()).to.equal(1n);
  });

  it("reverts with the token's allowance error when the permit is invalid and nothing is approved", async () => {
    const { token, market, newcomer, marketAddress, permitToMarket } =
      await networkHelpers.loadFixture(unapprovedRequesterFixture);
    // Signed for less than the escrow: the permit fails, is ignored, and the pull fails.
    const { deadline, v, r, s } = await permitToMarket(newcomer, escrow - 1n);

    await expect(market.connect(newcomer).postJobWithPermit(spec, deadline, v, r, s))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(marketAddress, 0, escrow);
    expect(await market.jobCount()).to.equal(0n);
    expect(await token.nonces(newcomer.address)).to.equal(0n);
  });

  it("validates the spec like postJob", async () => {
    const { token, market, newcomer, permitToMarket } = await networkHelpers.loadFixture(
      unapprovedRequesterFixture,
    );
    const invalid = jobSpec({ taskCount: 0 });
    const { deadline, v, r, s } = await permitToMarket(newcomer, 0n);

    await expect(market.connect(newcomer).postJobWithPermit(invalid, deadline, v, r, s))
      .to.be.revertedWithCustomError(market, "JobMarketInvalidTaskCount")
      .withArgs(0);
    expect(await market.jobCount()).to.equal(0n);
    // The permit was rolled back with the rest of the transaction.
    expect(await token.nonces(newcomer.address)).to.equal(0n);
  });
});
