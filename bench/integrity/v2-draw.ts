// The v2 assignment draw (issue 12, P2): the REFERENCE MODEL the v2 contract must match. It is
// not on chain yet — today's contract is v1 (v1-assignment.ts) — and exists so that the design
// has figures (npm run sim:integrity) before the contracts change. When v2 lands, its test must
// check the contract equal to `planV2` seed by seed, as test/bench/integrity-v1-model.test.ts
// does for v1.
//
//   1. The task range is cut into G = ceil(taskCount / groupSize) contiguous groups of
//      `groupSize` tasks (the last one shorter when groupSize does not divide taskCount).
//   2. Capacity is counted in group slots: a bid of `capacity` task-replicas offers
//      floor(capacity / groupSize) slots, or G when it covers the whole task range, so it never
//      runs more task-replicas than it locked stake for. The cheapest bids win G * k slots,
//      exactly as in v1 (allotment.ts); the most expensive winner may get fewer than offered.
//   3. Groups are filled in task order, each with k distinct winners drawn afresh:
//      - a winner whose remaining slots equal the groups left (L) must be drawn — otherwise it
//        could not use its allotment; there are at most k such, since the slots left are k * L;
//      - the other lanes are drawn one at a time without replacement, each winner weighted by
//        its remaining slots: draw j of group g takes x = keccak256(abi.encode(seed, g, j)) %
//        (sum of the candidates' remaining slots) and walks the candidates in bid-index order
//        until the running sum exceeds x;
//      - every member's remaining slots drop by one.
//      The invariant "remaining slots sum to k * L and none exceeds L" holds after every group,
//      so the draw is always feasible: at least k winners have slots left, all distinct.
//   Lanes are in draw order: forced members first (by bid index), then the drawn ones.
//
// A winner with share c of its lane's slots sits in a group with probability about c, so a
// party of many small identities holding a share p of the slots holds X lanes of a group with X
// close to Binomial(k, p) — never in every group unless one identity holds a whole lane (see
// bench/README.md, "What the numbers say").
import { allotCheapest, type Bid } from "./allotment.ts";
import { keccakWords } from "./random.ts";
import type { Group } from "./v1-assignment.ts";

export interface V2Plan {
  /** False when the bids cannot cover G * k group slots (no groups then). */
  filled: boolean;
  /** Group slots won per bid index. */
  slots: number[];
  groups: Group[];
}

/** Group slots a bid of `capacity` task-replicas offers: never more tasks than it staked for. */
export function slotsOffered(capacity: number, taskCount: number, groupSize: number): number {
  const groupCount = Math.ceil(taskCount / groupSize);
  return capacity >= taskCount
    ? groupCount
    : Math.min(groupCount, Math.floor(capacity / groupSize));
}

/** The v2 plan of a job: see the file header for the rules the v2 contract must reproduce. */
export function planV2(
  bids: readonly Bid[],
  taskCount: number,
  replication: number,
  groupSize: number,
  seed: bigint,
): V2Plan {
  const groupCount = Math.ceil(taskCount / groupSize);
  const allotment = allotCheapest(
    bids.map((b) => b.price),
    bids.map((b) => slotsOffered(b.capacity, taskCount, groupSize)),
    groupCount * replication,
  );
  if (allotment === undefined) return { filled: false, slots: bids.map(() => 0), groups: [] };
  const slots = allotment.allotted;
  const remaining = [...slots];
  // Candidates in bid-index order: the order the draw walks.
  const winners = [...allotment.winners].sort((a, b) => a - b);
  const groups: Group[] = [];
  for (let g = 0; g < groupCount; g++) {
    const left = groupCount - g;
    const members = winners.filter((w) => remaining[w] === left);
    const chosen = new Set(members);
    for (let j = 0; members.length < replication; j++) {
      let total = 0;
      for (const w of winners) if (!chosen.has(w)) total += remaining[w] as number;
      let x = Number(keccakWords(seed, BigInt(g), BigInt(j)) % BigInt(total));
      for (const w of winners) {
        if (chosen.has(w)) continue;
        x -= remaining[w] as number;
        if (x < 0) {
          members.push(w);
          chosen.add(w);
          break;
        }
      }
    }
    for (const w of members) remaining[w] = (remaining[w] as number) - 1;
    const taskStart = g * groupSize;
    groups.push({
      taskStart,
      taskCount: Math.min(taskCount, taskStart + groupSize) - taskStart,
      members,
    });
  }
  return { filled: true, slots, groups };
}
