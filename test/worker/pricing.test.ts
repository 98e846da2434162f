import { expect } from "chai";
import { parseUnits } from "ethers";
import { pricingPolicy, quotePerTaskReplica } from "../../sdk/chain/pricing.ts";
import { decideBid, isPinnedImage } from "../../worker/src/bidding/evaluate.ts";
import { floorPricing } from "../../worker/src/bidding/pricing.ts";
import { postedJob } from "./support/posted-job.ts";

const ONE = 10n ** 18n;

describe("quotePerTaskReplica", () => {
  const policy = pricingPolicy({ floorPerCpuSecond: "0.001", margin: 0.2, minPerTask: "0.01" });

  it("prices the worst case, cores × timeout × floor, plus the margin", () => {
    // 2 cores × 60 s × 0.001 = 0.12 CONUN, +20 % = 0.144
    expect(quotePerTaskReplica(policy, { cpuMillicores: 2000, timeoutSeconds: 60 })).to.equal(
      parseUnits("0.144", 18),
    );
  });

  it("never goes below the minimum per task", () => {
    expect(quotePerTaskReplica(policy, { cpuMillicores: 100, timeoutSeconds: 1 })).to.equal(
      parseUnits("0.01", 18),
    );
  });

  it("rounds up to the next wei instead of underpricing", () => {
    const odd = pricingPolicy({
      floorPerCpuSecond: "0.000000000000000001",
      margin: 0,
      minPerTask: "0",
    });
    expect(quotePerTaskReplica(odd, { cpuMillicores: 1, timeoutSeconds: 1 })).to.equal(1n);
  });

  it("skips a job whose max price is below the quote and bids the quote otherwise", () => {
    const task = { cpuMillicores: 1000, timeoutSeconds: 100 }; // 0.1 × 1.2 = 0.12
    expect(floorPricing(policy)(task, parseUnits("0.1", 18))).to.deep.equal({
      bid: false,
      reason: "the job pays at most 0.1 CONUN per task-replica, the policy asks 0.12 CONUN",
    });
    expect(floorPricing(policy)(task, ONE)).to.deep.equal({
      bid: true,
      price: parseUnits("0.12", 18),
    });
  });
});

describe("decideBid", () => {
  const policy = pricingPolicy({ floorPerCpuSecond: "0.001", margin: 0, minPerTask: "0.01" });
  const job = postedJob;
  const facts = (overrides: Partial<Parameters<typeof decideBid>[0]> = {}) => ({
    job: job(),
    timeoutSeconds: 60,
    // The disk limits have their own table (disk-budget.test.ts): here they never bind.
    maxOutputBytes: 1,
    limits: { maxOutputBytes: 1, diskBudgetBytes: Number.MAX_SAFE_INTEGER, minFreeDiskBytes: 0 },
    disk: { freeBytes: Number.MAX_SAFE_INTEGER, reservedBytes: 0, unwrittenBytes: 0 },
    outputQuota: { ok: true as const },
    offer: { cpuMillicores: 2000, memoryMiB: 4096, gpuCount: 0, slots: 2 },
    freeReplicas: 100,
    freeStake: 1000n * ONE,
    now: 500n,
    pricing: floorPricing(policy),
    ...overrides,
  });

  it("offers as many tasks as stake, capacity and the execution window allow", () => {
    // 600 s × 0.8 / 60 s = 8 rounds × 2 parallel = 16 ≥ 10 tasks
    expect(decideBid(facts())).to.deep.equal({
      bid: true,
      price: parseUnits("0.06", 18),
      capacity: 10,
      diskBytes: 30,
    });
    expect(decideBid(facts({ freeStake: 35n * ONE }))).to.include({ bid: true, capacity: 3 });
    expect(decideBid(facts({ freeReplicas: 4 }))).to.include({ bid: true, capacity: 4 });
    expect(decideBid(facts({ timeoutSeconds: 240 }))).to.include({ bid: true, capacity: 4 });
  });

  it("refuses what the machine cannot run, with the reason", () => {
    expect(decideBid(facts({ job: job({ gpuCount: 1 }) }))).to.deep.equal({
      bid: false,
      reason: "needs 1 GPUs, this worker offers 0",
    });
    expect(decideBid(facts({ job: job({ memoryMiB: 8192 }) }))).to.deep.equal({
      bid: false,
      reason: "needs 8192 MiB per task, this worker offers 4096",
    });
    expect(decideBid(facts({ job: job({ cpuMillicores: 4000 }) })).bid).to.equal(false);
    expect(decideBid(facts({ job: job({ imageRef: "busybox:latest" }) }))).to.deep.equal({
      bid: false,
      reason: "image busybox:latest is not pinned by digest or CID",
    });
  });

  it("refuses without stake, capacity, time, or after the deadline", () => {
    expect(decideBid(facts({ freeStake: 9n * ONE }))).to.include({ bid: false, retryable: true });
    expect(decideBid(facts({ freeReplicas: 0 }))).to.deep.equal({
      bid: false,
      reason: "no free capacity",
      retryable: true,
    });
    expect(decideBid(facts({ timeoutSeconds: 601 }))).to.include({ bid: false, retryable: false });
    expect(decideBid(facts({ now: 1000n }))).to.deep.equal({
      bid: false,
      reason: "bidding has closed",
    });
  });

  it("bids what its pricing strategy asks, given the task's cost and the job's max price", () => {
    const seen: unknown[] = [];
    const half = (
      task: { cpuMillicores: number | bigint; timeoutSeconds: number },
      max: bigint,
    ) => {
      seen.push({ task, max });
      return { bid: true as const, price: max / 2n };
    };
    expect(decideBid(facts({ pricing: half }))).to.include({ bid: true, price: ONE / 2n });
    expect(seen).to.deep.equal([{ task: { cpuMillicores: 1000, timeoutSeconds: 60 }, max: ONE }]);
    const never = () => ({ bid: false as const, reason: "not today" });
    expect(decideBid(facts({ pricing: never }))).to.deep.equal({ bid: false, reason: "not today" });
  });

  it("recognises pinned image references", () => {
    expect(isPinnedImage(`registry.example/app@sha256:${"a".repeat(64)}`)).to.equal(true);
    expect(isPinnedImage("ipfs://bafkreigh2akiscaildc")).to.equal(true);
    expect(isPinnedImage("registry.example/app:1.0")).to.equal(false);
  });
});
