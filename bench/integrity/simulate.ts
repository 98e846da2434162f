// The integrity simulator's core: simulated jobs in which a colluding party holds a share p of
// the winning capacity, assigned with the v1 model (today's contract) or the v2 reference
// draw, the colluders deviating — revealing the same wrong root — in every group where they
// hold at least q lanes, and the outcome settled by v1's majority vote or v2's escalation.
// Pure and seeded: the same options give the same figures.
import type { Bid } from "./allotment.ts";
import { breakEvenStake, type Economics } from "./economics.ts";
import { createRng, type Rng } from "./random.ts";
import { type Group, planV1 } from "./v1-assignment.ts";
import { planV2 } from "./v2-draw.ts";

export type Model = "v1" | "v2";

export interface CaseOptions {
  model: Model;
  /** The colluders' share of the winning capacity (task-replicas won). */
  p: number;
  k: number;
  q: number;
  /** Jobs simulated. */
  jobs: number;
  /** Seed of the job generator. */
  seed: number;
  /** Tasks per job. */
  taskCount: number;
  /** v2 only: tasks per group (the v1 groups follow from the segments). */
  groupSize: number;
  /** Capacity of each colluding identity (the last one takes the remainder). */
  identityCapacity: number;
  /** Honest bids' capacities, drawn uniformly between these (both included, at most taskCount). */
  honestCapacity: readonly [number, number];
  /** v2: the escalation panel, k members with quorum q unless told otherwise. */
  panel?: { size: number; quorum: number; seats?: boolean };
  economics: Economics;
}

/** Counts gathered over every group of every job of a case. */
export interface CaseTally {
  jobs: number;
  groups: number;
  tasks: number;
  /** lanesHeld[x]: groups in which the colluders held x lanes. */
  lanesHeld: number[];
  wrongGroups: number;
  wrongTasks: number;
  /** Jobs with at least one wrong group. */
  wrongJobs: number;
  /** v2: groups escalated (members disagreed), and those whose panel confirmed the wrong root. */
  disputes: number;
  escalationsCaptured: number;
  escalationsUndecided: number;
  /** Per task of a group, summed: the attacker's gain, colluding lanes slashed. */
  gain: number;
  colludersSlashed: number;
  /** Task-replicas the requester paid for, and task-replicas run (escalations included). */
  requesterPaidReplicas: number;
  replicasRun: number;
}

export interface CaseResult {
  model: Model;
  p: number;
  k: number;
  q: number;
  identityCapacity: number;
  tally: CaseTally;
  wrongAcceptPerGroup: number;
  wrongAcceptPerTask: number;
  /** 1 - (1 - wrongAcceptPerGroup)^100: a 100-group job, groups taken as independent. */
  wrongAnyIn100: number;
  /** Measured: jobs of `taskCount` tasks with at least one wrong group. */
  wrongAnyPerJob: number;
  attackerProfitPerGroup: number;
  breakEvenStake: number;
  costMultiplier: number;
  replicasRunPerTask: number;
  /** v2: the profit of deviating only where the colluders hold all k lanes (nothing to dispute). */
  allLanesOnlyProfitPerGroup: number;
}

/** A simulated job's bids and which bid indices belong to the colluders. */
export interface SimulatedJob {
  bids: Bid[];
  colluding: boolean[];
  seed: bigint;
}

/**
 * One job's bids: colluders take `round(p * k * taskCount)` task-replicas at the lowest price
 * (so all of it wins), in identities of `identityCapacity`; honest providers bid capacities
 * drawn from `honestCapacity` at random higher prices until they offer 1.5 times the rest, so
 * some of them lose and stand ready for escalation panels. Bid order is shuffled.
 */
export function simulatedJob(rng: Rng, options: CaseOptions): SimulatedJob {
  const { taskCount, k, p, identityCapacity } = options;
  const needed = taskCount * k;
  let colluderCapacity = Math.round(p * needed);
  const entries: { bid: Bid; colluding: boolean }[] = [];
  while (colluderCapacity > 0) {
    const capacity = Math.min(identityCapacity, colluderCapacity, taskCount);
    entries.push({ bid: { price: 1n, capacity }, colluding: true });
    colluderCapacity -= capacity;
  }
  const honestNeeded = needed - Math.round(p * needed);
  let honestOffered = 0;
  const [least, most] = options.honestCapacity;
  while (honestOffered < 1.5 * honestNeeded) {
    const capacity = rng.int(Math.min(least, taskCount), Math.min(most, taskCount));
    entries.push({ bid: { price: BigInt(rng.int(2, 1000)), capacity }, colluding: false });
    honestOffered += capacity;
  }
  for (let i = entries.length; i > 1; i--) {
    const j = rng.int(0, i - 1);
    [entries[i - 1], entries[j]] = [
      entries[j] as (typeof entries)[0],
      entries[i - 1] as (typeof entries)[0],
    ];
  }
  return {
    bids: entries.map((e) => e.bid),
    colluding: entries.map((e) => e.colluding),
    seed: rng.word(),
  };
}

/** The groups of a simulated job under `model`. */
export function assign(job: SimulatedJob, options: CaseOptions): Group[] {
  const { model, taskCount, k, groupSize } = options;
  const plan =
    model === "v1"
      ? planV1(job.bids, taskCount, k, job.seed)
      : planV2(job.bids, taskCount, k, groupSize, job.seed);
  if (!plan.filled) throw new Error("a simulated job must fill (honest bids offer 1.5x)");
  return plan.groups;
}

/**
 * `count` indices drawn from `weights` weight-proportionally: distinct providers (without
 * replacement), or with `seats` stake-weighted seats (with replacement: a provider drawn twice
 * votes twice), which gives a many-identity party no edge over one big provider.
 */
function drawPanel(rng: Rng, weights: number[], count: number, seats = false): number[] {
  const left = [...weights];
  const panel: number[] = [];
  let total = left.reduce((a, b) => a + b, 0);
  while (panel.length < count && total > 0) {
    let x = rng.next() * total;
    let pick = left.length - 1;
    for (let i = 0; i < left.length; i++) {
      x -= left[i] as number;
      if (x < 0) {
        pick = i;
        break;
      }
    }
    // Rounding may leave x at 0 past the end: take the last candidate with weight.
    while ((left[pick] as number) === 0) pick--;
    panel.push(pick);
    if (seats) continue;
    total -= left[pick] as number;
    left[pick] = 0;
  }
  return panel;
}

function emptyTally(k: number): CaseTally {
  return {
    jobs: 0,
    groups: 0,
    tasks: 0,
    lanesHeld: Array.from({ length: k + 1 }, () => 0),
    wrongGroups: 0,
    wrongTasks: 0,
    wrongJobs: 0,
    disputes: 0,
    escalationsCaptured: 0,
    escalationsUndecided: 0,
    gain: 0,
    colludersSlashed: 0,
    requesterPaidReplicas: 0,
    replicasRun: 0,
  };
}

/** Settles one group under the model's rules, adding its outcome to `tally`. Returns whether wrong. */
function settle(
  tally: CaseTally,
  rng: Rng,
  job: SimulatedJob,
  group: Group,
  options: CaseOptions,
): boolean {
  const { k, q, model, economics } = options;
  const n = group.taskCount;
  const held = group.members.filter((m) => job.colluding[m]).length;
  tally.lanesHeld[held] = (tally.lanesHeld[held] ?? 0) + 1;
  tally.replicasRun += k * n;
  if (held < q) {
    // Colluders without quorum reveal the honest root: deviating could only get them slashed.
    tally.requesterPaidReplicas += k * n;
    return false;
  }
  if (model === "v1" || held === k) {
    // v1: q votes win outright. v2: all k agree, nothing to dispute. The wrong root is accepted;
    // in v1 the honest minority is slashed and refunded to the requester.
    tally.requesterPaidReplicas += held * n;
    tally.gain += economics.gainPerTask * n;
    return true;
  }
  // v2 and q <= held < k: the members disagree, the group is escalated to a panel (k members
  // unless told otherwise) drawn afresh from the job's other bidders, weighted by the capacity
  // they bid.
  tally.disputes++;
  const { size, quorum, seats } = options.panel ?? { size: k, quorum: q };
  const inGroup = new Set(group.members);
  const weights = job.bids.map((b, i) => (inGroup.has(i) ? 0 : b.capacity));
  const panel = drawPanel(rng, weights, size, seats);
  tally.replicasRun += panel.length * n;
  const wrongVotes = panel.filter((m) => job.colluding[m]).length;
  const rightVotes = panel.length - wrongVotes;
  const panelCost = panel.length * economics.maxPrice * n;
  if (panel.length === size && wrongVotes >= quorum) {
    tally.escalationsCaptured++;
    // The honest members (and honest panelists) are slashed; their slash pays the panel.
    const honestSlash = (k - held + rightVotes) * economics.stakePerTaskReplica * n;
    // Paid lanes: the wrong side's members, and whatever of the panel the slash does not cover.
    tally.requesterPaidReplicas +=
      held * n + Math.max(0, panelCost - honestSlash) / economics.maxPrice;
    tally.gain += economics.gainPerTask * n;
    return true;
  }
  if (panel.length === size && rightVotes >= quorum) {
    const slashed = (held + wrongVotes) * n;
    tally.colludersSlashed += slashed;
    const slash = slashed * economics.stakePerTaskReplica;
    tally.requesterPaidReplicas +=
      (k - held) * n + Math.max(0, panelCost - slash) / economics.maxPrice;
    return false;
  }
  // No panel could decide (too few other bidders, or a split panel): nobody slashed for
  // dissent, the requester refunded for the group; it pays the panel.
  tally.escalationsUndecided++;
  tally.requesterPaidReplicas += panelCost / economics.maxPrice;
  return false;
}

/** Simulates `options.jobs` jobs of one case and derives its figures. */
export function simulateCase(options: CaseOptions): CaseResult {
  const rng = createRng(options.seed);
  const tally = emptyTally(options.k);
  for (let j = 0; j < options.jobs; j++) {
    const job = simulatedJob(rng, options);
    let anyWrong = false;
    for (const group of assign(job, options)) {
      tally.groups++;
      tally.tasks += group.taskCount;
      if (settle(tally, rng, job, group, options)) {
        tally.wrongGroups++;
        tally.wrongTasks += group.taskCount;
        anyWrong = true;
      }
    }
    tally.jobs++;
    if (anyWrong) tally.wrongJobs++;
  }
  return summarize(options, tally);
}

function summarize(options: CaseOptions, tally: CaseTally): CaseResult {
  const { k, economics } = options;
  const wrongAcceptPerGroup = tally.wrongGroups / tally.groups;
  // Money per task of a group, so that v1's groups (of any size) and v2's compare.
  const gain = tally.gain / tally.tasks;
  const slashedLanes = tally.colludersSlashed / tally.tasks;
  const allK = (tally.lanesHeld[k] ?? 0) / tally.groups;
  return {
    model: options.model,
    p: options.p,
    k,
    q: options.q,
    identityCapacity: options.identityCapacity,
    tally,
    wrongAcceptPerGroup,
    wrongAcceptPerTask: tally.wrongTasks / tally.tasks,
    wrongAnyIn100: 1 - (1 - wrongAcceptPerGroup) ** 100,
    wrongAnyPerJob: tally.wrongJobs / tally.jobs,
    attackerProfitPerGroup: gain - slashedLanes * economics.stakePerTaskReplica,
    breakEvenStake: breakEvenStake(gain, slashedLanes),
    costMultiplier: tally.requesterPaidReplicas / tally.tasks,
    replicasRunPerTask: tally.replicasRun / tally.tasks,
    allLanesOnlyProfitPerGroup: options.model === "v2" ? allK * economics.gainPerTask : gain,
  };
}
