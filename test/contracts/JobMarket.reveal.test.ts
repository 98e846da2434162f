import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  at,
  awardOneTaskJob,
  awardTenTaskJob,
  busiestProvider,
  commitAll,
  commitRoots,
  contractsNetwork,
  defined,
  equalBids,
  honestRoots,
  openJobWithBids,
  PRICE,
  passTime,
  RESULTS_CID,
  resultRoot,
  revealAll,
  revealRoots,
  Status,
  saltOf,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, loadFixture } = await contractsNetwork();

/** A 1 task x 3 job awarded to a, b and c; nobody has committed yet. */
async function awardedOneTaskFixture() {
  const { p, jobId, a, b, c } = await awardOneTaskJob(connection, PRICE);
  return { p, jobId, a, b, c, root: resultRoot(connection, jobId, 0n) };
}

/** The 1 task x 3 job with all three members committed to the honest root. */
async function allCommittedFixture() {
  const f = await awardedOneTaskFixture();
  for (const member of [f.a, f.b, f.c]) await commitAll(connection, f.p, f.jobId, member);
  return f;
}

/** The 1 task x 3 job with a and b committed and c silent. */
async function twoCommittedFixture() {
  const f = await awardedOneTaskFixture();
  for (const member of [f.a, f.b]) await commitAll(connection, f.p, f.jobId, member);
  return f;
}

/** a commits honestly, b submits a copy of a's commitment, c commits honestly. */
async function copiedCommitmentFixture() {
  const f = await awardedOneTaskFixture();
  await commitAll(connection, f.p, f.jobId, f.a);
  const copied = at(await f.p.market.assignmentsOf(f.jobId, f.a.address), 0).commitment;
  await f.p.market.connect(f.b).commit(f.jobId, [copied]);
  await commitAll(connection, f.p, f.jobId, f.c);
  return { ...f, copied };
}

/** A 10 task x 3 job over four providers (several groups), nobody committed. */
async function awardedTenTaskFixture() {
  const { p, jobId, providers } = await awardTenTaskJob(connection, [PRICE, PRICE, PRICE, PRICE]);
  return { p, jobId, providers };
}

/** An open job, before bidding closes. */
async function openJobFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    bids: equalBids(3, PRICE),
  });
  return { p, jobId, a: at(providers, 0) };
}

describe("JobMarket#reveal", () => {
  describe("timing", () => {
    it("lets a member reveal before the commit deadline once all k members of its group committed", async () => {
      const { p, jobId, a, root } = await loadFixture(allCommittedFixture);
      const { commitDeadline } = await p.market.getJob(jobId);
      const marketBalance = await p.token.balanceOf(p.market);
      await expect(revealAll(connection, p, jobId, a))
        .to.emit(p.market, "ResultRevealed")
        .withArgs(jobId, 0n, a.address, root, RESULTS_CID);
      const latest = BigInt(await networkHelpers.time.latest());
      expect(latest <= commitDeadline).to.equal(true);
      const assignment = at(await p.market.assignmentsOf(jobId, a.address), 0);
      expect(assignment.commitment).to.equal(root);
      expect(assignment.revealed).to.equal(true);
      const group = await p.market.getGroup(jobId, 0n);
      expect([group.commitCount, group.revealCount]).to.deep.equal([3n, 1n]);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
    });

    it("rejects a reveal before the commit deadline while a group member has not committed", async () => {
      const { p, jobId, a } = await loadFixture(twoCommittedFixture);
      await expect(revealAll(connection, p, jobId, a))
        .to.be.revertedWithCustomError(p.market, "JobMarketRevealTooEarly")
        .withArgs(jobId, 0n);
      expect((await p.market.getGroup(jobId, 0n)).revealCount).to.equal(0n);
    });

    it("allows that reveal once the commit deadline has passed", async () => {
      const { p, jobId, a, b, root } = await loadFixture(twoCommittedFixture);
      await passTime(connection, (await p.market.getJob(jobId)).commitDeadline);
      await expect(revealAll(connection, p, jobId, a))
        .to.emit(p.market, "ResultRevealed")
        .withArgs(jobId, 0n, a.address, root, RESULTS_CID);
      await expect(revealAll(connection, p, jobId, b))
        .to.emit(p.market, "ResultRevealed")
        .withArgs(jobId, 0n, b.address, root, RESULTS_CID);
      expect((await p.market.getGroup(jobId, 0n)).revealCount).to.equal(2n);
    });

    it("accepts a reveal at the reveal deadline and rejects one after it", async () => {
      const { p, jobId, a, b } = await loadFixture(allCommittedFixture);
      const { revealDeadline } = await p.market.getJob(jobId);
      await networkHelpers.time.setNextBlockTimestamp(revealDeadline);
      await expect(revealAll(connection, p, jobId, a)).to.emit(p.market, "ResultRevealed");
      await expect(revealAll(connection, p, jobId, b))
        .to.be.revertedWithCustomError(p.market, "JobMarketDeadlinePassed")
        .withArgs(jobId, revealDeadline);
      expect((await p.market.getGroup(jobId, 0n)).revealCount).to.equal(1n);
    });

    it("reveals a provider's ready groups, skips one still waiting for a commit, and reveals it on a later call", async () => {
      const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
      // The provider with the most groups, and a co-member of its last group who stays silent.
      const revealer = await busiestProvider(p, jobId, providers);
      const assignments = await p.market.assignmentsOf(jobId, revealer.address);
      const lastGroup = await p.market.getGroup(
        jobId,
        at(assignments, assignments.length - 1).groupId,
      );
      const silent = defined(
        providers.find(
          (x) => x.address !== revealer.address && lastGroup.members.includes(x.address),
        ),
      );
      for (const provider of providers) {
        if (provider.address !== silent.address) await commitAll(connection, p, jobId, provider);
      }
      const blocked: bigint[] = [];
      for (const a of assignments) {
        const group = await p.market.getGroup(jobId, a.groupId);
        if (group.members.includes(silent.address)) blocked.push(a.groupId);
      }
      expect(blocked.length).to.be.greaterThan(0);
      expect(blocked.length).to.be.lessThan(assignments.length);

      await revealAll(connection, p, jobId, revealer);
      const afterFirst = await p.market.assignmentsOf(jobId, revealer.address);
      for (const a of afterFirst) expect(a.revealed).to.equal(!blocked.includes(a.groupId));

      await commitAll(connection, p, jobId, silent);
      const second = revealAll(connection, p, jobId, revealer);
      for (const groupId of blocked) {
        await expect(second)
          .to.emit(p.market, "ResultRevealed")
          .withArgs(
            jobId,
            groupId,
            revealer.address,
            resultRoot(connection, jobId, groupId),
            anyValue,
          );
      }
      const afterSecond = await p.market.assignmentsOf(jobId, revealer.address);
      for (const a of afterSecond) expect(a.revealed).to.equal(true);
      await expect(revealAll(connection, p, jobId, revealer))
        .to.be.revertedWithCustomError(p.market, "JobMarketNothingToReveal")
        .withArgs(jobId, at(assignments, 0).groupId, revealer.address);
    });
  });

  describe("matching the commitment", () => {
    it("rejects a root other than the committed one", async () => {
      const { p, jobId, a } = await loadFixture(allCommittedFixture);
      await expect(revealRoots(connection, p, jobId, a, [resultRoot(connection, jobId, 0n, 1)]))
        .to.be.revertedWithCustomError(p.market, "JobMarketRevealMismatch")
        .withArgs(jobId, 0n, a.address);
    });

    it("rejects the committed root with another salt", async () => {
      const { p, jobId, a, root } = await loadFixture(allCommittedFixture);
      await expect(revealRoots(connection, p, jobId, a, [root], ethers.id("another salt")))
        .to.be.revertedWithCustomError(p.market, "JobMarketRevealMismatch")
        .withArgs(jobId, 0n, a.address);
      expect(at(await p.market.assignmentsOf(jobId, a.address), 0).revealed).to.equal(false);
    });

    it("makes a copied commitment useless: the copier cannot open it even with the original root and salt", async () => {
      const { p, jobId, a, b, root, copied } = await loadFixture(copiedCommitmentFixture);
      expect(at(await p.market.assignmentsOf(jobId, b.address), 0).commitment).to.equal(copied);
      for (const salt of [saltOf(connection, a.address), saltOf(connection, b.address)]) {
        await expect(revealRoots(connection, p, jobId, b, [root], salt))
          .to.be.revertedWithCustomError(p.market, "JobMarketRevealMismatch")
          .withArgs(jobId, 0n, b.address);
      }
      // The original author still opens its own commitment.
      await expect(revealAll(connection, p, jobId, a))
        .to.emit(p.market, "ResultRevealed")
        .withArgs(jobId, 0n, a.address, root, RESULTS_CID);
    });
  });

  describe("what can be revealed", () => {
    it("rejects a member that never committed", async () => {
      const { p, jobId, c, root } = await loadFixture(twoCommittedFixture);
      await passTime(connection, (await p.market.getJob(jobId)).commitDeadline);
      await expect(revealRoots(connection, p, jobId, c, [root]))
        .to.be.revertedWithCustomError(p.market, "JobMarketNothingToReveal")
        .withArgs(jobId, 0n, c.address);
    });

    it("rejects revealing the same membership twice", async () => {
      const { p, jobId, a } = await loadFixture(allCommittedFixture);
      await revealAll(connection, p, jobId, a);
      await expect(revealAll(connection, p, jobId, a))
        .to.be.revertedWithCustomError(p.market, "JobMarketNothingToReveal")
        .withArgs(jobId, 0n, a.address);
      expect((await p.market.getGroup(jobId, 0n)).revealCount).to.equal(1n);
    });

    it("rejects a root list that does not match the provider's memberships", async () => {
      const { p, jobId, a, root } = await loadFixture(allCommittedFixture);
      await expect(revealRoots(connection, p, jobId, a, [root, root]))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongMembershipCount")
        .withArgs(jobId, 2n, 1n);
    });

    it("reveals every membership of a multi-group provider in one call, each with the results CID", async () => {
      const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
      for (const provider of providers) await commitAll(connection, p, jobId, provider);
      for (const provider of providers) {
        const roots = await honestRoots(connection, p, jobId, provider);
        const cid = `bafybeiresults-${provider.address.slice(2, 10).toLowerCase()}`;
        const tx = p.market
          .connect(provider)
          .reveal(jobId, roots, saltOf(connection, provider.address), cid);
        const assignments = await p.market.assignmentsOf(jobId, provider.address);
        for (const [j, a] of assignments.entries()) {
          await expect(tx)
            .to.emit(p.market, "ResultRevealed")
            .withArgs(jobId, a.groupId, provider.address, at(roots, j), cid);
        }
        for (const [j, a] of (await p.market.assignmentsOf(jobId, provider.address)).entries()) {
          expect([a.commitment, a.revealed]).to.deep.equal([at(roots, j), true]);
        }
      }
    });

    it("rejects reveals from a provider that holds no assignment", async () => {
      const { p, jobId, root } = await loadFixture(allCommittedFixture);
      const outsider = at(p.others, 0);
      await expect(p.market.connect(outsider).reveal(jobId, [root], ethers.ZeroHash, RESULTS_CID))
        .to.be.revertedWithCustomError(p.market, "JobMarketNoBid")
        .withArgs(jobId, outsider.address);
    });
  });

  describe("status", () => {
    it("rejects reveals while the job is open for bids", async () => {
      const { p, jobId, a } = await loadFixture(openJobFixture);
      await expect(revealRoots(connection, p, jobId, a, [ethers.id("root")]))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Open, Status.Awarded);
    });

    it("rejects reveals once the job is finalized", async () => {
      const { p, jobId, a, b, root } = await loadFixture(allCommittedFixture);
      await revealAll(connection, p, jobId, a);
      await revealAll(connection, p, jobId, b);
      await passTime(connection, (await p.market.getJob(jobId)).revealDeadline);
      await p.market.finalize(jobId);
      await expect(revealRoots(connection, p, jobId, a, [root]))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Finalized, Status.Awarded);
    });
  });

  it("accepts differing roots from a group's members: agreement is judged at finalize", async () => {
    const { p, jobId, a, b, c } = await loadFixture(awardedOneTaskFixture);
    const roots = [ethers.id("x"), ethers.id("y"), ethers.id("z")];
    for (const [i, member] of [a, b, c].entries()) {
      await commitRoots(connection, p, jobId, member, [at(roots, i)]);
    }
    for (const [i, member] of [a, b, c].entries()) {
      await expect(revealRoots(connection, p, jobId, member, [at(roots, i)]))
        .to.emit(p.market, "ResultRevealed")
        .withArgs(jobId, 0n, member.address, at(roots, i), RESULTS_CID);
    }
    expect((await p.market.getGroup(jobId, 0n)).revealCount).to.equal(3n);
  });
});
