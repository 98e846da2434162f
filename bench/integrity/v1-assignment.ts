// The v1 assignment, as it is on chain today: a JavaScript twin of `Assignment.plan`
// (contracts/libraries/Assignment.sol; IJobMarket's "Assignment: lanes and replica groups").
// test/bench/integrity-v1-model.test.ts checks it equal to the deployed contract, group by
// group, for more than 100 seeds; the simulator draws v1 jobs with it.
//
//   1. Winners cheapest first (allotment.ts), capacities in task-replicas.
//   2. Fisher–Yates shuffle of the winners, j = keccak256(abi.encode(seed, i)) % i.
//   3. Segments laid end to end over k lanes of taskCount tasks (global offset
//      lane * taskCount + task); a segment may run from the end of one lane into the next.
//   4. Groups cut at every task index where some segment starts, in task order; a group's
//      member in lane r is the winner whose segment covers that lane at the group's start.
import { allotCheapest, type Bid } from "./allotment.ts";
import { keccakWords } from "./random.ts";

/** A replica group: a task range and the bid index of each lane's member. */
export interface Group {
  taskStart: number;
  taskCount: number;
  /** Bid index per lane, lane 0 first: k distinct bids. */
  members: number[];
}

export interface V1Plan {
  /** False when the bids cannot cover taskCount * k task-replicas (no groups then). */
  filled: boolean;
  /** Task-replicas won per bid index. */
  allotted: number[];
  /** Global offset where each winner's segment starts (0 for losers). */
  segmentStart: number[];
  groups: Group[];
}

/** `Assignment.plan(bids, taskCount, replication, seed)`. */
export function planV1(
  bids: readonly Bid[],
  taskCount: number,
  replication: number,
  seed: bigint,
): V1Plan {
  const segmentStart = bids.map(() => 0);
  const allotment = allotCheapest(
    bids.map((b) => b.price),
    bids.map((b) => b.capacity),
    taskCount * replication,
  );
  if (allotment === undefined) {
    return { filled: false, allotted: bids.map(() => 0), segmentStart, groups: [] };
  }
  const { allotted } = allotment;
  const winners = [...allotment.winners];
  for (let i = winners.length; i > 1; i--) {
    const j = Number(keccakWords(seed, BigInt(i)) % BigInt(i));
    [winners[i - 1], winners[j]] = [winners[j] as number, winners[i - 1] as number];
  }
  const cuts = new Set<number>();
  let offset = 0;
  for (const w of winners) {
    segmentStart[w] = offset;
    cuts.add(offset % taskCount);
    offset += allotted[w] as number;
  }
  const bounds = [...cuts].sort((a, b) => a - b);
  const groups: Group[] = bounds.map((start, g) => ({
    taskStart: start,
    taskCount: (bounds[g + 1] ?? taskCount) - start,
    members: [],
  }));
  // Segments are in global-offset order, so one pointer walks them as lanes and groups advance.
  let segment = 0;
  for (let lane = 0; lane < replication; lane++) {
    for (const group of groups) {
      const position = lane * taskCount + group.taskStart;
      let bid = winners[segment] as number;
      while ((segmentStart[bid] as number) + (allotted[bid] as number) <= position) {
        bid = winners[++segment] as number;
      }
      group.members.push(bid);
    }
  }
  return { filled: true, allotted, segmentStart, groups };
}
