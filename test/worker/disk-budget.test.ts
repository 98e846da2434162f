// decideBid's disk refusals (worker/src/bidding/evaluate.ts): the worker's own output cap, the
// disk budget for job data, the free space of the data directory with its margin, and the
// output quota the execution layer must be able to enforce; and the job's minimum bid capacity.
// Pure, so tables of facts.
import { expect } from "chai";
import { parseUnits } from "ethers";
import { pricingPolicy } from "../../sdk/chain/pricing.ts";
import {
  type BidFacts,
  COPIES_PER_OUTPUT,
  type DiskFacts,
  decideBid,
} from "../../worker/src/bidding/evaluate.ts";
import { floorPricing } from "../../worker/src/bidding/pricing.ts";
import { postedJob } from "./support/posted-job.ts";

const ONE = 10n ** 18n;
const MIB = 1024 * 1024;
/** What one task-replica of a 100 MiB-output job reserves. */
const PER_REPLICA = 100 * MIB * COPIES_PER_OUTPUT;

const job = postedJob({ stakePerTaskReplica: ONE });

/** Room for the whole job everywhere unless a test says otherwise. */
const roomy: DiskFacts = { freeBytes: 100_000 * MIB, reservedBytes: 0, unwrittenBytes: 0 };

function facts(overrides: Partial<BidFacts> = {}): BidFacts {
  return {
    job,
    timeoutSeconds: 10,
    maxOutputBytes: 100 * MIB,
    limits: { maxOutputBytes: 4096 * MIB, diskBudgetBytes: 51_200 * MIB, minFreeDiskBytes: 0 },
    disk: roomy,
    outputQuota: { ok: true },
    offer: { cpuMillicores: 8000, memoryMiB: 8192, gpuCount: 0, slots: 8 },
    freeReplicas: 100,
    freeStake: 1000n * ONE,
    now: 500n,
    pricing: floorPricing(
      pricingPolicy({ floorPerCpuSecond: "0.001", margin: 0, minPerTask: "0.01" }),
    ),
    ...overrides,
  };
}

describe("decideBid: disk limits", () => {
  it("bids on the whole job when it fits, reserving three copies of each task's output", () => {
    expect(decideBid(facts())).to.deep.equal({
      bid: true,
      price: parseUnits("0.01", 18),
      capacity: 10,
      diskBytes: 10 * PER_REPLICA,
    });
  });

  const limits = facts().limits;
  const takes: { name: string; overrides: Partial<BidFacts>; capacity: number }[] = [
    {
      name: "the disk budget left (4 of 10 task-replicas)",
      overrides: {
        limits: { ...limits, diskBudgetBytes: 4 * PER_REPLICA + MIB },
      },
      capacity: 4,
    },
    {
      name: "the budget other jobs' reservations leave",
      overrides: {
        limits: { ...limits, diskBudgetBytes: 10 * PER_REPLICA },
        disk: { ...roomy, reservedBytes: 7 * PER_REPLICA },
      },
      capacity: 3,
    },
    {
      name: "the free disk less the margin",
      overrides: {
        limits: { ...limits, minFreeDiskBytes: 1000 * MIB },
        disk: { ...roomy, freeBytes: 1000 * MIB + 2 * PER_REPLICA },
      },
      capacity: 2,
    },
    {
      name: "the free disk less what jobs not yet run will still write",
      overrides: {
        disk: {
          freeBytes: 6 * PER_REPLICA,
          reservedBytes: 5 * PER_REPLICA,
          unwrittenBytes: 5 * PER_REPLICA,
        },
      },
      capacity: 1,
    },
  ];
  for (const { name, overrides, capacity } of takes) {
    it(`bids for no more task-replicas than fit ${name}`, () => {
      const decision = decideBid(facts(overrides));
      expect(decision).to.deep.include({ bid: true, capacity, diskBytes: capacity * PER_REPLICA });
    });
  }

  const refusals: {
    name: string;
    overrides: Partial<BidFacts>;
    reason: string;
    retryable?: boolean;
  }[] = [
    {
      name: "a per-task output above the worker's own cap",
      overrides: { maxOutputBytes: 1024 ** 4 },
      reason:
        "a task may write 1048576 MiB of output, more than this worker's limit of 4096 MiB (limits.maxOutputMiB)",
    },
    {
      name: "no budget left for one task-replica",
      overrides: {
        limits: { ...limits, diskBudgetBytes: 1000 * MIB },
        disk: { ...roomy, reservedBytes: 800 * MIB },
      },
      reason:
        "a task-replica may take 300 MiB of disk (3 × its 100 MiB output), the disk budget has 200 MiB left of 1000 MiB (limits.diskBudgetMiB)",
      retryable: true,
    },
    {
      name: "a budget overdrawn by reservations (a lowered limit after a restart)",
      overrides: {
        limits: { ...limits, diskBudgetBytes: 100 * MIB },
        disk: { ...roomy, reservedBytes: 900 * MIB },
      },
      reason:
        "a task-replica may take 300 MiB of disk (3 × its 100 MiB output), the disk budget has 0 MiB left of 100 MiB (limits.diskBudgetMiB)",
      retryable: true,
    },
    {
      name: "free disk that would fall below the margin",
      overrides: {
        limits: { ...limits, minFreeDiskBytes: 2048 * MIB },
        disk: { freeBytes: 2300 * MIB, reservedBytes: 0, unwrittenBytes: 0 },
      },
      reason:
        "a task-replica may take 300 MiB of disk (3 × its 100 MiB output), the data directory has 2300 MiB free for new jobs and keeps 2048 MiB (limits.minFreeDiskMiB)",
      retryable: true,
    },
    {
      name: "free disk already promised to jobs that have not run",
      overrides: {
        disk: { freeBytes: 1000 * MIB, reservedBytes: 900 * MIB, unwrittenBytes: 900 * MIB },
      },
      reason:
        "a task-replica may take 300 MiB of disk (3 × its 100 MiB output), the data directory has 100 MiB free for new jobs and keeps 0 MiB (limits.minFreeDiskMiB)",
      retryable: true,
    },
    {
      name: "an output quota the machine cannot enforce",
      overrides: { outputQuota: { ok: false, reason: "mount: permission denied" } },
      reason: "task output cannot be bounded on this machine: mount: permission denied",
    },
  ];
  for (const { name, overrides, reason, retryable } of refusals) {
    it(`refuses ${name}, saying why`, () => {
      expect(decideBid(facts(overrides))).to.deep.equal({
        bid: false,
        reason,
        ...(retryable === undefined ? {} : { retryable }),
      });
    });
  }

  it("accepts an output exactly at the worker's cap and refuses one byte more", () => {
    const cap = facts().limits.maxOutputBytes;
    expect(decideBid(facts({ maxOutputBytes: cap })).bid).to.equal(true);
    expect(decideBid(facts({ maxOutputBytes: cap + 1 })).bid).to.equal(false);
  });

  it("fits exactly one task-replica into exactly its reservation, and none into a byte less", () => {
    const exact = { ...roomy, freeBytes: PER_REPLICA };
    expect(decideBid(facts({ disk: exact }))).to.deep.include({ bid: true, capacity: 1 });
    expect(decideBid(facts({ disk: { ...exact, freeBytes: PER_REPLICA - 1 } })).bid).to.equal(
      false,
    );
  });
});

// JobMarket refuses a bid below minBidCapacity (ceil(taskCount × k / 64)); the worker must not
// send one and fail, but say which of its limits keeps it below.
describe("decideBid: the job's minimum bid capacity", () => {
  // 100 tasks × 3 replicas: at least ceil(300 / 64) = 5 task-replicas per bid.
  const large = postedJob({ taskCount: 100, replication: 3, stakePerTaskReplica: ONE });

  it("refuses when it can offer fewer, naming the minimum and the limit that holds it back", () => {
    expect(decideBid(facts({ job: large, freeStake: 4n * ONE }))).to.deep.equal({
      bid: false,
      reason:
        "the job takes bids of at least 5 task-replicas (so that 64 bids cover its 100 × 3); this worker can offer 4 now (by its free stake)",
      retryable: true,
    });
    expect(decideBid(facts({ job: large, freeReplicas: 3 }))).to.deep.include({
      bid: false,
      reason:
        "the job takes bids of at least 5 task-replicas (so that 64 bids cover its 100 × 3); this worker can offer 3 now (by capacity.maxTaskReplicas and its other jobs)",
    });
  });

  it("bids exactly the minimum when that is all it can offer", () => {
    expect(decideBid(facts({ job: large, freeStake: 5n * ONE }))).to.deep.include({
      bid: true,
      capacity: 5,
    });
  });
});
