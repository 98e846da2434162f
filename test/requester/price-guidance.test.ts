// The pure core of `conun:post --price auto` (sdk/queries/price-guidance.ts): which past jobs
// count as similar, and the proposal, escrow and chance of filling they give.
import { expect } from "chai";
import {
  describePriceGuidance,
  isSimilarJob,
  type PastJob,
  type PriceRequest,
  priceFromFloors,
  proposePrice,
} from "../../sdk/queries/price-guidance.ts";

const ONE = 10n ** 18n;
const NOW = 1_800_000_000n;
const DAY = 86_400n;

const request: PriceRequest = {
  cpuMillicores: 1000,
  memoryMiB: 512,
  gpuCount: 0,
  timeoutSeconds: 60,
  taskCount: 4,
  replication: 3,
};

let nextId = 1n;
/** A similar job that filled, its winners bidding `prices` (CONUN tenths) for 4 replicas each. */
function filled(prices: number[], overrides: Partial<PastJob> = {}): PastJob {
  return {
    jobId: nextId++,
    status: "Finalized",
    postedAt: NOW - DAY,
    cpuMillicores: 1000n,
    memoryMiB: 512n,
    gpuCount: 0,
    timeoutSeconds: 60,
    maxPrice: 10n * ONE,
    accepted: prices.map((p) => ({ price: (BigInt(p) * ONE) / 10n, allotted: 4 })),
    ...overrides,
  };
}
const unfilled = (overrides: Partial<PastJob> = {}): PastJob =>
  filled([], { status: "Unfilled", maxPrice: ONE / 10n, ...overrides });
const tenths = (n: number) => (BigInt(n) * ONE) / 10n;

describe("price guidance", () => {
  describe("isSimilarJob", () => {
    const job = filled([1]);

    it("takes the same GPUs with CPU, memory and timeout each within a factor of 2", () => {
      expect(isSimilarJob(request, job)).to.equal(true);
      expect(isSimilarJob(request, { ...job, cpuMillicores: 500n, memoryMiB: 1024n })).to.equal(
        true,
      );
      expect(isSimilarJob(request, { ...job, timeoutSeconds: 30 })).to.equal(true);
      expect(isSimilarJob(request, { ...job, timeoutSeconds: 120 })).to.equal(true);
    });

    it("leaves out a job beyond a factor of 2, with other GPUs, or with an unknown timeout", () => {
      expect(isSimilarJob(request, { ...job, cpuMillicores: 499n })).to.equal(false);
      expect(isSimilarJob(request, { ...job, cpuMillicores: 2001n })).to.equal(false);
      expect(isSimilarJob(request, { ...job, memoryMiB: 1025n })).to.equal(false);
      expect(isSimilarJob(request, { ...job, timeoutSeconds: 29 })).to.equal(false);
      expect(isSimilarJob(request, { ...job, gpuCount: 1 })).to.equal(false);
      const { timeoutSeconds: _, ...unknown } = job;
      expect(isSimilarJob(request, unknown)).to.equal(false);
    });
  });

  describe("proposePrice", () => {
    it("proposes the lowest clearing price at which 80 % of the sample filled, with the escrow", () => {
      // Clearing prices (highest accepted bid) 0.1 … 0.5 CONUN.
      const history = [filled([1]), filled([1, 2]), filled([3]), filled([2, 4]), filled([5])];
      const g = proposePrice(request, history, { now: NOW });
      if (g.kind !== "proposal") throw new Error(g.reason);
      expect(g.maxPrice).to.equal(tenths(4));
      expect(g.escrow).to.equal(12n * tenths(4));
      expect(g.filledAtOrBelow).to.equal(4);
      expect(g.sampleSize).to.equal(5);
      expect(g.fillChance).to.equal(0.8);
      expect(g.reachesTarget).to.equal(true);
      expect(g.fewJobs).to.equal(false);
      // Mean winning prices 0.1, 0.15, 0.3, 0.3, 0.5: the median is 0.3.
      expect(g.typicalPrice).to.equal(tenths(3));
      expect(g.typicalCost).to.equal(12n * tenths(3));
    });

    it("counts an Unfilled job as not filling and says when the target is out of reach", () => {
      const history = [filled([1]), filled([2]), unfilled(), unfilled(), unfilled()];
      const g = proposePrice(request, history, { now: NOW });
      if (g.kind !== "proposal") throw new Error(g.reason);
      expect(g.maxPrice).to.equal(tenths(2));
      expect(g.fillChance).to.equal(0.4);
      expect(g.unfilled).to.equal(3);
      expect(g.reachesTarget).to.equal(false);
      const lines = describePriceGuidance(g, request);
      expect(lines.join("\n")).to.contain(
        "2 of the 5 most recent similar jobs (40 %) filled at or below this price; 3 of them ended Unfilled",
      );
      expect(lines.join("\n")).to.contain("short of the 80 % aimed for");
    });

    it("keeps to decided, recent, similar jobs, the newest maxSample of them", () => {
      const history = [
        filled([9], { status: "Open" }),
        filled([9], { status: "Cancelled" }),
        filled([9], { postedAt: NOW - 31n * DAY }),
        filled([9], { cpuMillicores: 4000n }),
        filled([9], { postedAt: NOW - 10n * DAY }),
        filled([1], { postedAt: NOW - 2n * DAY }),
        filled([2], { status: "Awarded", postedAt: NOW - DAY }),
      ];
      const g = proposePrice(request, history, { now: NOW, maxSample: 2, target: 1 });
      if (g.kind !== "proposal") throw new Error(g.reason);
      expect(g.sample.map((j) => j.clearingPrice)).to.deep.equal([tenths(2), tenths(1)]);
      expect(g.maxPrice).to.equal(tenths(2));
      expect(g.fillChance).to.equal(1);
      expect(g.fewJobs).to.equal(true);
      expect(describePriceGuidance(g, request).join("\n")).to.contain(
        "only 2 similar jobs: a rough guide",
      );
    });

    it("counts similar jobs left out for an unknown timeout", () => {
      const { timeoutSeconds: _, ...unknown } = filled([7]);
      const g = proposePrice(request, [unknown, filled([1])], { now: NOW });
      if (g.kind !== "proposal") throw new Error(g.reason);
      expect(g.unknownTimeout).to.equal(1);
      expect(g.sampleSize).to.equal(1);
      expect(g.maxPrice).to.equal(tenths(1));
    });

    it("has no proposal without history, or when every similar job ended Unfilled", () => {
      const none = proposePrice(request, [filled([1], { gpuCount: 1 })], { now: NOW });
      expect(none.kind).to.equal("no-history");
      if (none.kind === "no-history") expect(none.reason).to.contain("no job of similar resources");
      const onlyUnfilled = proposePrice(request, [unfilled(), unfilled()], { now: NOW });
      expect(onlyUnfilled).to.deep.include({ kind: "no-history", sampleSize: 2 });
      if (onlyUnfilled.kind === "no-history") {
        expect(onlyUnfilled.reason).to.contain("none of the 2 similar jobs");
      }
    });
  });

  it("priceFromFloors is the k-th cheapest floor, or nothing with fewer than k", () => {
    expect(priceFromFloors([5n, 1n, 3n, 2n], 3)).to.equal(3n);
    expect(priceFromFloors([5n, 1n], 3)).to.equal(undefined);
  });
});
