// The v2 reference draw (bench/integrity/v2-draw.ts) keeps its promises on random jobs: the
// cheapest bids win, every group has k distinct winners, every winner serves exactly the
// group slots it won, groups are contiguous, and the draw never gets stuck.
import { expect } from "chai";
import type { Bid } from "../../bench/integrity/allotment.ts";
import { createRng } from "../../bench/integrity/random.ts";
import { planV2, slotsOffered } from "../../bench/integrity/v2-draw.ts";

const JOBS = 300;

function randomJob(n: number) {
  const rng = createRng(0xd4a + n);
  const taskCount = rng.int(1, 60);
  const replication = rng.int(1, 6);
  const groupSize = rng.int(1, Math.max(1, Math.floor(taskCount / 3)));
  const bids: Bid[] = Array.from({ length: rng.int(replication, 24) }, () => {
    const shape = rng.next();
    const capacity = shape < 0.25 ? taskCount : rng.int(1, taskCount);
    return { price: BigInt(rng.int(1, 6)), capacity };
  });
  return { taskCount, replication, groupSize, bids, seed: rng.word() };
}

describe("bench/integrity v2 draw", () => {
  it("draws k distinct winners per contiguous group, each serving exactly the slots it won", () => {
    let filled = 0;
    let forcedWholeLane = 0;
    for (let n = 0; n < JOBS; n++) {
      const job = randomJob(n);
      const plan = planV2(job.bids, job.taskCount, job.replication, job.groupSize, job.seed);
      const groupCount = Math.ceil(job.taskCount / job.groupSize);
      const offered = job.bids.map((b) => slotsOffered(b.capacity, job.taskCount, job.groupSize));
      const needed = groupCount * job.replication;
      expect(plan.filled).to.equal(offered.reduce((a, b) => a + b, 0) >= needed);
      if (!plan.filled) {
        expect(plan.groups).to.deep.equal([]);
        continue;
      }
      filled++;
      expect(plan.slots.reduce((a, b) => a + b, 0)).to.equal(needed);
      for (const [i, slots] of plan.slots.entries())
        expect(slots).to.be.at.most(offered[i] as number);
      expect(plan.groups).to.have.length(groupCount);
      const served = job.bids.map(() => 0);
      const tasksRun = job.bids.map(() => 0);
      let next = 0;
      for (const group of plan.groups) {
        expect(group.taskStart).to.equal(next);
        expect(group.taskCount).to.be.within(1, job.groupSize);
        next += group.taskCount;
        expect(group.members).to.have.length(job.replication);
        expect(new Set(group.members).size).to.equal(job.replication);
        for (const m of group.members) {
          served[m] = (served[m] as number) + 1;
          tasksRun[m] = (tasksRun[m] as number) + group.taskCount;
        }
      }
      // Never more task-replicas than a bid staked for.
      for (const [i, bid] of job.bids.entries()) {
        expect(tasksRun[i]).to.be.at.most(bid.capacity);
      }
      expect(next).to.equal(job.taskCount);
      expect(served).to.deep.equal(plan.slots);
      // A winner that holds a whole lane of slots is, necessarily, in every group.
      for (const [i, slots] of plan.slots.entries()) {
        if (slots === groupCount && groupCount > 1) {
          forcedWholeLane++;
          for (const group of plan.groups) expect(group.members).to.include(i);
        }
      }
    }
    expect(filled).to.be.greaterThan(JOBS / 2);
    expect(forcedWholeLane).to.be.greaterThan(0);
  });

  it("is the same plan for the same seed and a different one for another seed", () => {
    const job = randomJob(7);
    const bids: Bid[] = Array.from({ length: 20 }, (_, i) => ({
      price: BigInt(i % 3),
      capacity: 5,
    }));
    const a = planV2(bids, 20, 3, 1, job.seed);
    expect(planV2(bids, 20, 3, 1, job.seed)).to.deep.equal(a);
    expect(planV2(bids, 20, 3, 1, job.seed + 1n).groups).to.not.deep.equal(a.groups);
  });

  it("keeps the cheapest-bid allotment: the most expensive winner gets the remainder", () => {
    // 4 groups x 2 lanes = 8 slots: 4 (price 1) + 3 (price 2) + 1 of the price-3 bid's 4.
    const bids: Bid[] = [
      { price: 3n, capacity: 4 },
      { price: 1n, capacity: 4 },
      { price: 2n, capacity: 3 },
      { price: 4n, capacity: 4 },
    ];
    const plan = planV2(bids, 4, 2, 1, 42n);
    expect(plan.slots).to.deep.equal([1, 4, 3, 0]);
    for (const group of plan.groups) expect(group.members).to.include(1);
  });
});
