import { expect } from "chai";
import {
  floorForJob,
  type JobRequirements,
  type ProviderFacts,
  whyNoQuorum,
  whyUnfillable,
} from "../../sdk/chain/diagnose.ts";
import { pricingMetadataURI, publishedPricing } from "../../sdk/chain/pricing.ts";

const ONE = 10n ** 18n;
const A = "0xa000000000000000000000000000000000000001";
const B = "0xb000000000000000000000000000000000000002";
const C = "0xc000000000000000000000000000000000000003";

/** 2 tasks × k=3, 1 CONUN max, 2 CONUN stake per task-replica, 1 core / 512 MiB. */
const JOB: JobRequirements = {
  taskCount: 2,
  replication: 3,
  maxPrice: ONE,
  stakePerTaskReplica: 2n * ONE,
  cpuMillicores: 1000,
  memoryMiB: 512,
  gpuCount: 0,
};

function provider(address: string, overrides: Partial<ProviderFacts> = {}): ProviderFacts {
  return {
    address,
    cpuMillicores: 4000,
    memoryMiB: 8192,
    gpuCount: 0,
    freeStake: 100n * ONE,
    ...overrides,
  };
}

const codes = (d: ReturnType<typeof whyUnfillable>) => d.reasons.map((r) => r.code);

/** Group 0 of a one-task job with quorum 2 of 3, held by `members`. */
function firstGroup(members: Parameters<typeof whyNoQuorum>[0]["members"]) {
  return { groupId: 0, taskStart: 0, taskCount: 1, quorum: 2, members };
}

describe("sdk/chain/diagnose#whyUnfillable", () => {
  it("finds nothing blocking when k providers with stake and resources are registered", () => {
    const d = whyUnfillable(JOB, [provider(A), provider(B), provider(C)]);
    expect(d.canFill).to.equal(true);
    expect(d.needed).to.equal(6);
    expect(d.eligibleCapacity).to.equal(6);
    expect(codes(d)).to.deep.equal(["price-unpublished"]);
  });

  it("says no provider is registered", () => {
    const d = whyUnfillable(JOB, []);
    expect(d.canFill).to.equal(false);
    expect(d.reasons[0]?.message).to.contain("no provider is registered");
    expect(d.reasons[0]?.message).to.contain("6 task-replicas (2 tasks × k=3)");
  });

  it("blocks when k is above the number of registered providers", () => {
    const d = whyUnfillable(JOB, [provider(A), provider(B)]);
    expect(d.canFill).to.equal(false);
    const reason = d.reasons.find((r) => r.code === "too-few-providers");
    expect(reason?.blocking).to.equal(true);
    expect(reason?.message).to.contain("k=3 needs 3 distinct providers");
    expect(reason?.message).to.contain("only 2 providers are registered");
  });

  it("names providers whose free stake is below one task-replica's stake, in CONUN", () => {
    const d = whyUnfillable(JOB, [provider(A), provider(B), provider(C, { freeStake: ONE })]);
    expect(d.canFill).to.equal(false);
    expect(d.eligible).to.deep.equal([A, B]);
    const stake = d.reasons.find((r) => r.code === "stake");
    expect(stake?.message).to.contain("0xc000…0003 has 1.0 CONUN free");
    expect(stake?.message).to.contain("(2.0 CONUN)");
    expect(d.reasons.find((r) => r.code === "too-few-eligible")?.message).to.contain(
      "only 2 providers of the 3 distinct ones k=3 needs can bid",
    );
  });

  it("blocks when the eligible providers' free stake backs fewer task-replicas than needed", () => {
    // 3 CONUN free backs one task-replica at 2 CONUN: 2 + 2 + 1 = 5 of 6.
    const d = whyUnfillable(JOB, [provider(A), provider(B), provider(C, { freeStake: 3n * ONE })]);
    expect(d.canFill).to.equal(false);
    expect(d.eligibleCapacity).to.equal(5);
    const reason = d.reasons.find((r) => r.code === "capacity");
    expect(reason?.message).to.contain("backs 5 task-replicas at 2.0 CONUN each");
    expect(reason?.message).to.contain("the job needs 6 (2 tasks × k=3, at most 2 per provider)");
  });

  it("names providers whose capabilities are below the job's resources", () => {
    const d = whyUnfillable(JOB, [
      provider(A),
      provider(B, { cpuMillicores: 500 }),
      provider(C, { memoryMiB: 256, gpuCount: 0 }),
    ]);
    expect(d.canFill).to.equal(false);
    const reason = d.reasons.find((r) => r.code === "capabilities");
    expect(reason?.message).to.contain("2 of 3 registered providers cannot meet");
    expect(reason?.message).to.contain("0xb000…0002 offers 500 of 1000 millicores");
    expect(reason?.message).to.contain("0xc000…0003 offers 256 of 512 MiB");
  });

  it("compares published price floors with the max price", () => {
    const dear = pricingMetadataURI({ floorPerCpuSecond: "0.1", margin: 0.2, minPerTask: "0.01" });
    // 1 core × 30 s × 0.1 CONUN × 1.2 = 3.6 CONUN per task-replica, above the 1 CONUN max.
    const d = whyUnfillable({ ...JOB, timeoutSeconds: 30 }, [
      provider(A, { metadataURI: dear }),
      provider(B, { metadataURI: dear }),
      provider(C),
    ]);
    expect(d.canFill).to.equal(false);
    const reason = d.reasons.find((r) => r.code === "price-floor");
    expect(reason?.message).to.contain("2 of 3 registered providers publish a price floor");
    expect(reason?.message).to.contain("above the max price of 1.0 CONUN per task-replica");
    expect(reason?.message).to.contain("0xa000…0001 asks 3.6 CONUN");
    // Without the timeout only the minimum per task is known, and it is below the max.
    expect(whyUnfillable(JOB, [provider(A, { metadataURI: dear })]).eligible).to.deep.equal([A]);
  });

  it("counts the bids, names the shortfall and the eligible providers that stayed away", () => {
    const d = whyUnfillable(
      JOB,
      [provider(A, { freeStake: 0n }), provider(B), provider(C)],
      [{ provider: A, price: ONE / 2n, capacity: 2 }],
    );
    expect(d.canFill).to.equal(false);
    expect(d.bidCapacity).to.equal(2);
    // A's stake is locked behind its own bid: it is eligible, not short of stake.
    expect(codes(d)).to.not.include("stake");
    const short = d.reasons.find((r) => r.code === "bids-short");
    expect(short?.message).to.contain("the bids cover 2 of the 6 task-replicas needed");
    expect(short?.message).to.contain("0xa000…0001: 2 at 0.5 CONUN");
    const silent = d.reasons.find((r) => r.code === "silent-providers");
    expect(silent?.message).to.contain(
      "2 providers whose resources and free stake fit did not bid",
    );
    expect(silent?.message).to.contain("max price (1.0 CONUN per task-replica)");
  });
});

describe("sdk/chain/pricing#publishedPricing", () => {
  it("reads back what pricingMetadataURI writes, and the worker's quote from it", () => {
    const uri = pricingMetadataURI({ floorPerCpuSecond: "0.001", margin: 0.2, minPerTask: "0.01" });
    const pricing = publishedPricing(uri);
    expect(pricing).to.deep.equal({
      floorPerCpuSecondWei: ONE / 1000n,
      marginBps: 2000n,
      minPerTaskWei: ONE / 100n,
    });
    if (pricing === undefined) throw new Error("unreachable");
    // 0.5 core × 30 s × 0.001 × 1.2 = 0.018 CONUN.
    expect(floorForJob(pricing, { cpuMillicores: 500, timeoutSeconds: 30 })).to.deep.equal({
      floor: 18n * 10n ** 15n,
      exact: true,
    });
    expect(floorForJob(pricing, { cpuMillicores: 500 })).to.deep.equal({
      floor: ONE / 100n,
      exact: false,
    });
  });

  it("ignores metadata that publishes no pricing", () => {
    expect(publishedPricing("")).to.equal(undefined);
    expect(publishedPricing("https://example.org/me.json")).to.equal(undefined);
    expect(publishedPricing("data:application/json,{not json")).to.equal(undefined);
    expect(publishedPricing('data:application/json,{"pricing":{"margin":1}}')).to.equal(undefined);
  });
});

describe("sdk/chain/diagnose#whyNoQuorum", () => {
  const root = (n: number) => `0x${String(n).repeat(64)}`;

  it("lists each distinct root with who revealed it and where each bundle is", () => {
    const d = whyNoQuorum({
      groupId: 1,
      taskStart: 2,
      taskCount: 2,
      quorum: 2,
      members: [
        { provider: A, committed: true, revealed: true, resultRoot: root(1), resultsCid: "bafyA" },
        { provider: B, committed: true, revealed: true, resultRoot: root(2), resultsCid: "bafyB" },
        { provider: C, committed: false, revealed: false },
      ],
    });
    expect(d.agreeing).to.equal(1);
    expect(d.roots.map((r) => r.root)).to.deep.equal([root(1), root(2)]);
    expect(d.notCommitted).to.deep.equal([C]);
    expect(d.lines[0]).to.equal(
      "group 1 (tasks 2–3) had no quorum: it needs 2 of 3 members to reveal the same result root, the most that agreed was 1",
    );
    expect(d.message).to.contain(`root 1 ${root(1)} revealed by ${A} (bundle bafyA)`);
    expect(d.message).to.contain(`root 2 ${root(2)} revealed by ${B} (bundle bafyB)`);
    expect(d.message).to.contain(`did not commit: ${C}`);
    expect(d.message).to.contain("the outputs differ between replicas");
  });

  it("says who committed but did not reveal", () => {
    const d = whyNoQuorum(
      firstGroup([
        { provider: A, committed: true, revealed: true, resultRoot: root(1), resultsCid: "bafyA" },
        { provider: B, committed: true, revealed: false },
        { provider: C, committed: true, revealed: false },
      ]),
    );
    expect(d.notRevealed).to.deep.equal([B, C]);
    expect(d.message).to.contain(`committed but did not reveal: ${B}, ${C}`);
    expect(d.message).to.contain("too few members reported a result in time");
  });

  it("shows a revealed CID with terminal escapes escaped, never raw", () => {
    const d = whyNoQuorum(
      firstGroup([
        {
          provider: A,
          committed: true,
          revealed: true,
          resultRoot: root(1),
          resultsCid: "bafy\u001b[2J",
        },
        { provider: B, committed: true, revealed: true, resultRoot: root(2), resultsCid: "bafyB" },
      ]),
    );
    expect(d.message).to.not.contain("\u001b");
    expect(d.message).to.contain("bundle bafy\\x1b[2J");
  });
});
