import { expect } from "chai";
import {
  at,
  awardJob,
  awardTenTaskJob,
  busiestProvider,
  commitAll,
  commitRoots,
  commitThenReveal,
  contractsNetwork,
  defined,
  deployWithProviders,
  equalBids,
  honestRoots,
  ONE,
  openJobWithBids,
  PRICE,
  resultRoot,
  Status,
  saltOf,
  signerOf,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, loadFixture } = await contractsNetwork();

/** A 1 task x 3 job awarded to three providers; a fourth, pricier bid lost. */
async function awardedOneTaskFixture() {
  const { p, providers } = await deployWithProviders(connection, 4);
  const [a, b, c, loser] = take(providers, 4);
  const jobId = await awardJob(connection, p, {}, [
    ...[a, b, c].map((provider) => ({ provider, price: PRICE, capacity: 1 })),
    { provider: loser, price: ONE, capacity: 1 },
  ]);
  return { p, jobId, members: [a, b, c], loser };
}

/** A 10 task x 3 job over four providers of capacities 10, 8, 7, 5: several groups. */
async function awardedTenTaskFixture() {
  const { p, jobId, providers } = await awardTenTaskJob(connection, [PRICE, PRICE, PRICE, PRICE]);
  // The provider with the most memberships.
  const busiest = await busiestProvider(p, jobId, providers);
  return { p, jobId, providers, busiest };
}

/** An open 1 task x 3 job with three bids, bidding not closed yet. */
async function openJobFixture() {
  const {
    p,
    providers: members,
    jobId,
  } = await openJobWithBids(connection, { bids: equalBids(3, PRICE) });
  return { p, jobId, members };
}

describe("JobMarket#commit", () => {
  it("stores one commitment per membership and emits ResultCommitted for each", async () => {
    const { p, jobId, busiest } = await loadFixture(awardedTenTaskFixture);
    const before = await p.market.assignmentsOf(jobId, busiest.address);
    expect(before.length).to.be.greaterThan(1);
    const salt = saltOf(connection, busiest.address);
    const roots = await honestRoots(connection, p, jobId, busiest);
    const commitments = before.map((a, j) =>
      ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint256", "uint16", "address", "bytes32", "bytes32"],
          [jobId, a.groupId, busiest.address, at(roots, j), salt],
        ),
      ),
    );
    const marketBalance = await p.token.balanceOf(p.market);

    const tx = p.market.connect(busiest).commit(jobId, commitments);
    for (const [j, a] of before.entries()) {
      await expect(tx)
        .to.emit(p.market, "ResultCommitted")
        .withArgs(jobId, a.groupId, busiest.address, at(commitments, j));
    }

    const after = await p.market.assignmentsOf(jobId, busiest.address);
    for (const [j, a] of after.entries()) {
      expect(a.commitment).to.equal(at(commitments, j));
      expect(a.revealed).to.equal(false);
      expect((await p.market.getGroup(jobId, a.groupId)).commitCount).to.equal(1n);
    }
    expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
  });

  it("counts each member's commit in its group", async () => {
    const { p, jobId, members } = await loadFixture(awardedOneTaskFixture);
    for (const [i, member] of members.entries()) {
      await expect(commitAll(connection, p, jobId, member)).to.emit(p.market, "ResultCommitted");
      expect((await p.market.getGroup(jobId, 0n)).commitCount).to.equal(BigInt(i + 1));
    }
  });

  it("rejects a commitment list that does not match the provider's memberships", async () => {
    const { p, jobId, busiest } = await loadFixture(awardedTenTaskFixture);
    const expected = BigInt((await p.market.assignmentsOf(jobId, busiest.address)).length);
    const commitment = ethers.id("commitment");
    await expect(p.market.connect(busiest).commit(jobId, [commitment]))
      .to.be.revertedWithCustomError(p.market, "JobMarketWrongMembershipCount")
      .withArgs(jobId, 1n, expected);
    const tooMany = Array.from({ length: Number(expected) + 1 }, () => commitment);
    await expect(p.market.connect(busiest).commit(jobId, tooMany))
      .to.be.revertedWithCustomError(p.market, "JobMarketWrongMembershipCount")
      .withArgs(jobId, expected + 1n, expected);
  });

  it("rejects a zero commitment and stores none of the list", async () => {
    const { p, jobId, busiest } = await loadFixture(awardedTenTaskFixture);
    const count = (await p.market.assignmentsOf(jobId, busiest.address)).length;
    const commitments = Array.from({ length: count }, (_, j) =>
      j === count - 1 ? ethers.ZeroHash : ethers.id(`commitment ${j}`),
    );
    await expect(p.market.connect(busiest).commit(jobId, commitments))
      .to.be.revertedWithCustomError(p.market, "JobMarketZeroCommitment")
      .withArgs(jobId);
    for (const a of await p.market.assignmentsOf(jobId, busiest.address)) {
      expect(a.commitment).to.equal(ethers.ZeroHash);
    }
  });

  it("rejects a second commit for a membership that already holds one", async () => {
    const { p, jobId, members } = await loadFixture(awardedOneTaskFixture);
    const [a] = take(members, 1);
    await commitAll(connection, p, jobId, a);
    const first = at(await p.market.assignmentsOf(jobId, a.address), 0).commitment;
    await expect(commitAll(connection, p, jobId, a, 1))
      .to.be.revertedWithCustomError(p.market, "JobMarketAlreadyCommitted")
      .withArgs(jobId, 0n, a.address);
    expect(at(await p.market.assignmentsOf(jobId, a.address), 0).commitment).to.equal(first);
  });

  it("rejects a provider whose bid lost and an account that never bid", async () => {
    const { p, jobId, loser } = await loadFixture(awardedOneTaskFixture);
    const commitment = ethers.id("commitment");
    await expect(p.market.connect(loser).commit(jobId, [commitment]))
      .to.be.revertedWithCustomError(p.market, "JobMarketNoBid")
      .withArgs(jobId, loser.address);
    const outsider = at(p.others, 0);
    await expect(p.market.connect(outsider).commit(jobId, [commitment]))
      .to.be.revertedWithCustomError(p.market, "JobMarketNoBid")
      .withArgs(jobId, outsider.address);
  });

  it("accepts a commit at the commit deadline and rejects one after it", async () => {
    const { p, jobId, members } = await loadFixture(awardedOneTaskFixture);
    const { commitDeadline } = await p.market.getJob(jobId);
    await networkHelpers.time.setNextBlockTimestamp(commitDeadline);
    await expect(commitAll(connection, p, jobId, at(members, 0))).to.emit(
      p.market,
      "ResultCommitted",
    );
    await expect(commitAll(connection, p, jobId, at(members, 1)))
      .to.be.revertedWithCustomError(p.market, "JobMarketDeadlinePassed")
      .withArgs(jobId, commitDeadline);
    expect((await p.market.getGroup(jobId, 0n)).commitCount).to.equal(1n);
  });

  it("rejects commits while the job is still open for bids", async () => {
    const { p, jobId, members } = await loadFixture(openJobFixture);
    await expect(p.market.connect(at(members, 0)).commit(jobId, [ethers.id("commitment")]))
      .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Open, Status.Awarded);
  });

  it("rejects commits once the job is finalized", async () => {
    const { p, jobId, members } = await loadFixture(awardedOneTaskFixture);
    await commitThenReveal(connection, p, jobId, members);
    await p.market.finalize(jobId);
    await expect(p.market.connect(at(members, 0)).commit(jobId, [ethers.id("commitment")]))
      .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Finalized, Status.Awarded);
  });

  it("rejects commits to an unknown job", async () => {
    const { p, members } = await loadFixture(awardedOneTaskFixture);
    await expect(p.market.connect(at(members, 0)).commit(42n, [ethers.id("commitment")]))
      .to.be.revertedWithCustomError(p.market, "JobMarketUnknownJob")
      .withArgs(42n);
  });

  it("lets every provider of a multi-group job commit its own memberships", async () => {
    const { p, jobId, providers } = await loadFixture(awardedTenTaskFixture);
    for (const provider of providers) {
      const roots = await honestRoots(connection, p, jobId, provider);
      if (roots.length === 0) continue;
      await commitRoots(connection, p, jobId, provider, roots);
    }
    const { groupCount, replication } = await p.market.getJob(jobId);
    for (let g = 0n; g < groupCount; g++) {
      const group = await p.market.getGroup(jobId, g);
      expect(group.commitCount).to.equal(replication);
      const member = signerOf(providers, at(group.members, 0));
      const a = defined(
        (await p.market.assignmentsOf(jobId, member.address)).find((x) => x.groupId === g),
      );
      expect(a.commitment).to.equal(
        await p.market.commitmentFor(
          jobId,
          g,
          member.address,
          resultRoot(connection, jobId, g),
          saltOf(connection, member.address),
        ),
      );
    }
  });
});
