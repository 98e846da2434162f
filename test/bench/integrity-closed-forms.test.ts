// The integrity simulator (bench/integrity/simulate.ts) against the closed forms. With every
// identity one task large, a v2 group (and a v1 task) is a uniform draw of k of the job's
// task-replica slots, so the colluders' lanes X follow the hypergeometric law, within a small
// finite-population correction of Binomial(k, p): P(X >= q) is the binomial tail (3p^2 - 2p^3
// for k = 3, q = 2) and P(X = k) = p^k. The tolerance is four standard errors of the sample
// (sqrt(P(1 - P) / n) over n groups; groups of one job are negatively correlated, which only
// narrows the spread) plus the exact finite-population correction.
import { expect } from "chai";
import { DEFAULT_ECONOMICS } from "../../bench/integrity/economics.ts";
import { type CaseOptions, simulateCase } from "../../bench/integrity/simulate.ts";

const TASKS = 100;
const JOBS = 200;
const Z = 4;

function choose(n: number, r: number): number {
  let c = 1;
  for (let i = 1; i <= r; i++) c = (c * (n - r + i)) / i;
  return c;
}

function binomial(k: number, x: number, p: number): number {
  return choose(k, x) * p ** x * (1 - p) ** (k - x);
}

/** P(X = x) drawing k of `slots` slots of which `bad` are the colluders'. */
function hypergeometric(slots: number, bad: number, k: number, x: number): number {
  return (choose(bad, x) * choose(slots - bad, k - x)) / choose(slots, k);
}

function options(overrides: Partial<CaseOptions> & Pick<CaseOptions, "model" | "p" | "k" | "q">) {
  return {
    jobs: JOBS,
    seed: 3,
    taskCount: TASKS,
    groupSize: 1,
    identityCapacity: 1,
    honestCapacity: [1, 1] as const,
    economics: DEFAULT_ECONOMICS,
    ...overrides,
  };
}

/** Asserts a measured frequency over n trials is the closed form within the tolerance. */
function expectClose(measured: number, closed: number, exact: number, n: number, what: string) {
  const tolerance = Z * Math.sqrt((closed * (1 - closed)) / n) + Math.abs(exact - closed);
  expect(
    Math.abs(measured - closed),
    `${what}: ${measured} vs ${closed} ± ${tolerance}`,
  ).to.be.at.most(tolerance);
}

const SETTINGS = [
  { k: 2, q: 2, p: 0.45 },
  { k: 3, q: 2, p: 0.2 },
  { k: 3, q: 2, p: 1 / 3 },
  { k: 5, q: 3, p: 1 / 3 },
];

describe("bench/integrity simulator against the closed forms", () => {
  for (const { k, q, p } of SETTINGS) {
    it(`v2 (${k},${q}), p = ${p.toFixed(3)}: lanes held follow the binomial tail and p^k`, () => {
      const result = simulateCase(options({ model: "v2", p, k, q }));
      const n = result.tally.groups;
      expect(n).to.equal(JOBS * TASKS);
      const slots = TASKS * k;
      const bad = Math.round(p * slots);
      let tail = 0;
      let exactTail = 0;
      let measuredTail = 0;
      for (let x = q; x <= k; x++) {
        tail += binomial(k, x, p);
        exactTail += hypergeometric(slots, bad, k, x);
        measuredTail += (result.tally.lanesHeld[x] as number) / n;
      }
      expectClose(measuredTail, tail, exactTail, n, "P(X >= q)");
      const measuredAll = (result.tally.lanesHeld[k] as number) / n;
      expectClose(measuredAll, p ** k, hypergeometric(slots, bad, k, k), n, "P(X = k)");
      // Groups held entirely are accepted wrong; disputed ones only if the panel is captured.
      expect(result.wrongAcceptPerGroup).to.be.at.least(measuredAll);
      expect(result.wrongAcceptPerGroup).to.be.at.most(measuredTail);
      let disputable = 0;
      for (let x = q; x < k; x++) disputable += result.tally.lanesHeld[x] as number;
      expect(result.tally.disputes).to.equal(disputable);
    });

    it(`v1 (${k},${q}), p = ${p.toFixed(3)}: one-task identities capture the binomial tail of tasks`, () => {
      const result = simulateCase(options({ model: "v1", p, k, q }));
      const slots = TASKS * k;
      const bad = Math.round(p * slots);
      let tail = 0;
      let exactTail = 0;
      for (let x = q; x <= k; x++) {
        tail += binomial(k, x, p);
        exactTail += hypergeometric(slots, bad, k, x);
      }
      expectClose(result.wrongAcceptPerTask, tail, exactTail, result.tally.tasks, "wrong/task");
      // v1 never slashes a wrong majority: no stake stops the attack.
      expect(result.tally.colludersSlashed).to.equal(0);
      expect(result.breakEvenStake).to.equal(Number.POSITIVE_INFINITY);
    });
  }

  it("v1: two whole-lane identities (p = 2/3 of k = 3) hold quorum in every group, by construction", () => {
    const result = simulateCase(
      options({
        model: "v1",
        p: 2 / 3,
        k: 3,
        q: 2,
        jobs: 50,
        identityCapacity: TASKS,
        honestCapacity: [10, 100],
      }),
    );
    expect(result.wrongAcceptPerGroup).to.equal(1);
    expect(result.wrongAnyPerJob).to.equal(1);
  });

  it("v1: a lane and a third (p = 0.45, whole-lane identities) capture exactly the remainder's tasks", () => {
    // 135 task-replicas: one identity of 100 in every group, one of 35 that adds a second lane.
    const result = simulateCase(
      options({
        model: "v1",
        p: 0.45,
        k: 3,
        q: 2,
        jobs: 50,
        identityCapacity: TASKS,
        honestCapacity: [10, 100],
      }),
    );
    expect(result.wrongAcceptPerTask).to.equal(0.35);
  });

  it("is reproducible: the same seed gives the same figures, another seed other draws", () => {
    const a = simulateCase(options({ model: "v2", p: 0.2, k: 3, q: 2, jobs: 20 }));
    const b = simulateCase(options({ model: "v2", p: 0.2, k: 3, q: 2, jobs: 20 }));
    const c = simulateCase(options({ model: "v2", p: 0.2, k: 3, q: 2, jobs: 20, seed: 4 }));
    expect(b).to.deep.equal(a);
    expect(c.tally.lanesHeld).to.not.deep.equal(a.tally.lanesHeld);
  });
});
