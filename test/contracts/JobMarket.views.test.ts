import { expect } from "chai";
import {
  at,
  awardJob,
  closeBiddingAfterDeadline,
  commitThenReveal,
  contractsNetwork,
  defined,
  deployWithProviders,
  FEE_BPS,
  groupsOf,
  jobSpec,
  minedAt,
  ONE,
  Outcome,
  PRICE,
  placeBids,
  postJob,
  resultRoot,
  Status,
} from "./support/index.ts";

const { connection, ethers, loadFixture } = await contractsNetwork();

const TASKS = 10n;

/** A 10 task x 3 job with four bids (capacities 10, 8, 7, 5), still open. */
async function openTenTaskFixture() {
  const { p, providers } = await deployWithProviders(connection, 4);
  const tx = await p.market.connect(p.requester).postJob(jobSpec({ taskCount: TASKS }));
  const postedAt = await minedAt(connection, tx);
  const jobId = await p.market.jobCount();
  const capacities = [10, 8, 7, 5];
  await placeBids(
    p,
    jobId,
    capacities.map((capacity, i) => ({ provider: at(providers, i), price: PRICE, capacity })),
  );
  return { p, jobId, providers, capacities, postedAt };
}

/** The same job awarded. Segments of 10, 8, 7 and 5 over lanes of 10 always wrap somewhere. */
async function awardedTenTaskFixture() {
  const f = await openTenTaskFixture();
  await closeBiddingAfterDeadline(connection, f.p, f.jobId);
  return f;
}

/** A 1 task x 3 job, every member committed and revealed, finalized. */
async function finalizedOneTaskFixture() {
  const { p, providers: members } = await deployWithProviders(connection, 3);
  const jobId = await awardJob(
    connection,
    p,
    {},
    members.map((provider) => ({ provider, price: PRICE, capacity: 1 })),
  );
  await commitThenReveal(connection, p, jobId, members);
  await p.market.finalize(jobId);
  return { p, jobId, members };
}

describe("JobMarket views", () => {
  describe("JobMarket#getJob", () => {
    it("returns the posted spec, the requester, the deadline and the escrow of an open job", async () => {
      const { p, jobId, postedAt } = await loadFixture(openTenTaskFixture);
      const spec = jobSpec({ taskCount: TASKS });
      const job = await p.market.getJob(jobId);
      expect(job.requester).to.equal(p.requester.address);
      expect(job.status).to.equal(Status.Open);
      expect([job.taskCount, job.replication, job.quorum]).to.deep.equal([TASKS, 3n, 2n]);
      expect([job.maxPrice, job.stakePerTaskReplica]).to.deep.equal([
        spec.maxPrice,
        spec.stakePerTaskReplica,
      ]);
      expect(job.bidCount).to.equal(4n);
      expect(job.groupCount).to.equal(0n);
      expect(job.feeBps).to.equal(FEE_BPS);
      expect(job.biddingDeadline).to.equal(postedAt + BigInt(spec.biddingWindow));
      expect([job.executionWindow, job.revealWindow]).to.deep.equal([
        BigInt(spec.executionWindow),
        BigInt(spec.revealWindow),
      ]);
      expect([job.commitDeadline, job.revealDeadline]).to.deep.equal([0n, 0n]);
      expect([job.cpuMillicores, job.memoryMiB, job.gpuCount]).to.deep.equal([1000n, 512n, 0n]);
      expect(job.escrow).to.equal(TASKS * 3n * ONE);
    });

    it("returns an all-zero job with status None for an unknown id", async () => {
      const { p } = await loadFixture(openTenTaskFixture);
      const job = await p.market.getJob(12345n);
      expect(job.status).to.equal(Status.None);
      expect(job.requester).to.equal(ethers.ZeroAddress);
      expect(job.escrow).to.equal(0n);
    });
  });

  describe("JobMarket#biddersOf and JobMarket#getBid", () => {
    it("lists standing bids in bid order, dropping a withdrawn bid and appending a renewed one", async () => {
      const { p, jobId, providers } = await loadFixture(openTenTaskFixture);
      expect(await p.market.biddersOf(jobId)).to.deep.equal(providers.map((x) => x.address));
      await p.market.connect(at(providers, 1)).withdrawBid(jobId);
      const remaining = [at(providers, 0), at(providers, 2), at(providers, 3)].map(
        (x) => x.address,
      );
      expect(await p.market.biddersOf(jobId)).to.deep.equal(remaining);
      expect((await p.market.getJob(jobId)).bidCount).to.equal(3n);
      await p.market.connect(at(providers, 1)).placeBid(jobId, PRICE, 4);
      expect(await p.market.biddersOf(jobId)).to.deep.equal([
        ...remaining,
        at(providers, 1).address,
      ]);
      expect((await p.market.getJob(jobId)).bidCount).to.equal(4n);
    });

    it("returns a bid's price and capacity before the award and nothing for a non-bidder", async () => {
      const { p, jobId, providers } = await loadFixture(openTenTaskFixture);
      const bid = await p.market.getBid(jobId, at(providers, 1).address);
      expect([bid.price, bid.capacity, bid.allotted, bid.groupCount, bid.claimed]).to.deep.equal([
        PRICE,
        8n,
        0n,
        0n,
        false,
      ]);
      const none = await p.market.getBid(jobId, at(p.others, 0).address);
      expect([none.price, none.capacity, none.allotted]).to.deep.equal([0n, 0n, 0n]);
    });

    it("returns each winner's allotment and segment after the award, segments tiling all lanes", async () => {
      const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
      const segments: [bigint, bigint][] = [];
      for (const provider of providers) {
        const bid = await p.market.getBid(jobId, provider.address);
        expect(bid.allotted).to.equal(bid.capacity); // 10 + 8 + 7 + 5 = 30 exactly
        segments.push([bid.segmentStart, bid.allotted]);
      }
      segments.sort((x, y) => (x[0] < y[0] ? -1 : 1));
      let next = 0n;
      for (const [start, length] of segments) {
        expect(start).to.equal(next);
        next += length;
      }
      expect(next).to.equal(TASKS * 3n);
    });
  });

  describe("JobMarket#getGroup", () => {
    it("lists members in lane order, consistent with GroupFormed and each member's lane", async () => {
      const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
      const formed = await p.market.queryFilter(p.market.filters.GroupFormed(jobId));
      const groups = await groupsOf(p, jobId);
      expect(formed).to.have.length(groups.length);
      for (const [g, group] of groups.entries()) {
        expect(at(formed, g).args.members).to.deep.equal(group.members);
        for (const [lane, member] of group.members.entries()) {
          const a = defined(
            (await p.market.assignmentsOf(jobId, member)).find((x) => x.groupId === group.groupId),
          );
          expect(a.lane).to.equal(BigInt(lane));
        }
      }
      // Lane r's members, group by group, are the providers in segment order.
      const starts = new Map<string, bigint>();
      for (const x of providers) {
        starts.set(x.address, (await p.market.getBid(jobId, x.address)).segmentStart);
      }
      for (let lane = 0; lane < 3; lane++) {
        const laneStarts = groups.map((group) => defined(starts.get(at(group.members, lane))));
        for (let g = 1; g < laneStarts.length; g++) {
          expect(at(laneStarts, g) >= at(laneStarts, g - 1)).to.equal(true);
        }
      }
    });

    it("counts commits and reveals and shows the winning root once finalized", async () => {
      const { p, jobId, members } = await loadFixture(finalizedOneTaskFixture);
      const group = await p.market.getGroup(jobId, 0n);
      expect([group.taskStart, group.taskCount]).to.deep.equal([0n, 1n]);
      expect([group.commitCount, group.revealCount]).to.deep.equal([3n, 3n]);
      expect(group.outcome).to.equal(Outcome.Agreed);
      expect(group.winningRoot).to.equal(resultRoot(connection, jobId, 0n));
      expect([...group.members].sort()).to.deep.equal(members.map((m) => m.address).sort());
    });

    it("shows no winning root and a pending outcome before finalisation", async () => {
      const { p, jobId } = await loadFixture(awardedTenTaskFixture);
      const group = await p.market.getGroup(jobId, 0n);
      expect([group.commitCount, group.revealCount]).to.deep.equal([0n, 0n]);
      expect([group.outcome, group.winningRoot]).to.deep.equal([Outcome.Pending, ethers.ZeroHash]);
    });

    it("returns an empty group for an id beyond the job's groups", async () => {
      const { p, jobId } = await loadFixture(awardedTenTaskFixture);
      const { groupCount } = await p.market.getJob(jobId);
      const group = await p.market.getGroup(jobId, groupCount);
      expect(group.members).to.have.length(0);
      expect([group.taskStart, group.taskCount]).to.deep.equal([0n, 0n]);
    });
  });

  describe("JobMarket#assignmentsOf", () => {
    it("gives a segment that wraps into the next lane a different lane number in its wrapped groups", async () => {
      const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
      const { groupCount } = await p.market.getJob(jobId);
      let wrapped = 0;
      for (const provider of providers) {
        const bid = await p.market.getBid(jobId, provider.address);
        const assignments = await p.market.assignmentsOf(jobId, provider.address);
        const startLane = bid.segmentStart / TASKS;
        const startTask = bid.segmentStart % TASKS;
        // Memberships run from firstGroup on, modulo groupCount, starting at the segment start.
        expect(at(assignments, 0).taskStart).to.equal(startTask);
        for (const [j, a] of assignments.entries()) {
          expect(a.groupId).to.equal((bid.firstGroup + BigInt(j)) % groupCount);
          expect(a.lane).to.equal(a.taskStart < startTask ? startLane + 1n : startLane);
          expect([a.commitment, a.revealed]).to.deep.equal([ethers.ZeroHash, false]);
        }
        if (new Set(assignments.map((a) => a.lane)).size > 1) {
          wrapped++;
          // The wrapped part starts again at task 0, one lane down.
          const first = assignments.findIndex((a) => a.lane === startLane + 1n);
          expect(at(assignments, first).taskStart).to.equal(0n);
          expect(
            at(assignments, first - 1).taskStart + at(assignments, first - 1).taskCount,
          ).to.equal(TASKS);
        }
      }
      expect(wrapped).to.be.greaterThan(0);
    });

    it("returns no assignments before the award or for an account that never bid", async () => {
      const { p, jobId, providers } = await loadFixture(openTenTaskFixture);
      expect(await p.market.assignmentsOf(jobId, at(providers, 0).address)).to.have.length(0);
      expect(await p.market.assignmentsOf(jobId, at(p.others, 0).address)).to.have.length(0);
    });
  });

  describe("JobMarket#commitmentFor", () => {
    it("equals keccak256(abi.encode(jobId, groupId, provider, root, salt))", async () => {
      const { p } = await loadFixture(openTenTaskFixture);
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const cases: [bigint, bigint, string, string, string][] = [
        [1n, 0n, at(p.providers, 0).address, ethers.id("root"), ethers.id("salt")],
        [7n, 65535n, at(p.providers, 1).address, ethers.ZeroHash, ethers.ZeroHash],
        [2n ** 200n, 3n, ethers.ZeroAddress, ethers.id("a"), ethers.id("b")],
      ];
      for (const [jobId, groupId, provider, root, salt] of cases) {
        const expected = ethers.keccak256(
          coder.encode(
            ["uint256", "uint16", "address", "bytes32", "bytes32"],
            [jobId, groupId, provider, root, salt],
          ),
        );
        expect(await p.market.commitmentFor(jobId, groupId, provider, root, salt)).to.equal(
          expected,
        );
      }
    });

    it("differs between providers for the same root and salt", async () => {
      const { p } = await loadFixture(openTenTaskFixture);
      const [root, salt] = [ethers.id("root"), ethers.id("salt")];
      const a = await p.market.commitmentFor(1n, 0n, at(p.providers, 0).address, root, salt);
      const b = await p.market.commitmentFor(1n, 0n, at(p.providers, 1).address, root, salt);
      expect(a).to.not.equal(b);
    });
  });

  describe("JobMarket token, registry, treasury, fee and job count views", () => {
    it("reports its token, registry, treasury, fee and job count", async () => {
      const { p } = await loadFixture(openTenTaskFixture);
      expect(await p.market.token()).to.equal(await p.token.getAddress());
      expect(await p.market.registry()).to.equal(await p.registry.getAddress());
      expect(await p.market.treasury()).to.equal(p.treasury.address);
      expect(await p.market.protocolFeeBps()).to.equal(FEE_BPS);
      expect(await p.market.jobCount()).to.equal(1n);
      await postJob(p);
      expect(await p.market.jobCount()).to.equal(2n);
    });
  });
});
