// The integrity simulator's v1 model (bench/integrity/v1-assignment.ts) against the deployed
// contract: real jobs on an in-process Hardhat network, closed with a chosen prevrandao, and
// every group's range and members compared with what the model plans for the same seed.
import { expect } from "chai";
import { network } from "hardhat";
import type { Bid } from "../../bench/integrity/allotment.ts";
import { createRng, keccakWords } from "../../bench/integrity/random.ts";
import { planV1 } from "../../bench/integrity/v1-assignment.ts";
import {
  at,
  type Connection,
  DEFAULT_STAKE_PER_TASK_REPLICA,
  deployProtocol,
  ONE,
  passTime,
  postJob,
  registerProviders,
} from "../../devnet/protocol.ts";
import { placeBids, Status } from "../helpers/market.ts";

const SEEDS = 150;
const BIDDERS = 16;
const REPLICATIONS = [2, 3, 5, 8] as const;
const MAX_TASKS = 40;

interface Draw {
  taskCount: number;
  replication: number;
  bids: Bid[];
  prevrandao: bigint;
}

/** Job `n`'s shape: few or many bidders, tied prices, whole-lane and one-task capacities. */
function drawJob(n: number): Draw {
  const rng = createRng(0x5eed + n);
  const replication = REPLICATIONS[n % REPLICATIONS.length] as number;
  const taskCount = rng.int(1, MAX_TASKS);
  const count = rng.int(Math.min(BIDDERS, replication * 2), BIDDERS);
  const bids = Array.from({ length: count }, () => {
    const shape = rng.next();
    const capacity = shape < 0.2 ? taskCount : shape < 0.35 ? 1 : rng.int(1, taskCount);
    // Five price levels: ties are common, so the bid-order tie-break is exercised.
    return { price: (BigInt(rng.int(1, 5)) * ONE) / 10n, capacity };
  });
  return { taskCount, replication, bids, prevrandao: rng.word() };
}

describe("bench/integrity v1 model", () => {
  it(`plans the same groups as Assignment.plan on chain for ${SEEDS} seeds`, async function () {
    this.timeout(600_000);
    const connection: Connection = await network.create({ chainType: "l1" });
    try {
      const p = await deployProtocol(connection, { providerCount: BIDDERS });
      expect(p.providers).to.have.length(BIDDERS);
      // Enough stake that every bid of every job stays locked at once (jobs are never settled).
      const stake = BigInt(SEEDS * MAX_TASKS) * DEFAULT_STAKE_PER_TASK_REPLICA;
      await registerProviders(p, p.providers, stake);
      let awarded = 0;
      let groupsCompared = 0;
      let partialWinners = 0;
      for (let n = 0; n < SEEDS; n++) {
        const job = drawJob(n);
        const jobId = await postJob(p, {
          taskCount: job.taskCount,
          replication: job.replication,
          quorum: Math.floor(job.replication / 2) + 1,
        });
        await placeBids(
          p,
          jobId,
          job.bids.map((bid, i) => ({ ...bid, provider: at(p.providers, i) })),
        );
        await passTime(connection, (await p.market.getJob(jobId)).biddingDeadline);
        // After passTime's block, so that the closing block is the one that gets it.
        await connection.networkHelpers.setPrevRandao(job.prevrandao);
        const receipt = await (await p.market.closeBidding(jobId)).wait();
        // ethers' Block leaves prevRandao unset on this chain; the raw block carries it as mixHash.
        const block: { mixHash: string } = await connection.ethers.provider.send(
          "eth_getBlockByNumber",
          [`0x${(receipt?.blockNumber ?? 0).toString(16)}`, false],
        );
        expect(BigInt(block.mixHash)).to.equal(job.prevrandao);
        const seed = keccakWords(job.prevrandao, jobId);
        const plan = planV1(job.bids, job.taskCount, job.replication, seed);

        const onChain = await p.market.getJob(jobId);
        expect(onChain.status).to.equal(plan.filled ? Status.Awarded : Status.Unfilled);
        expect(Number(onChain.groupCount)).to.equal(plan.groups.length);
        const order = await p.market.biddersOf(jobId);
        for (const [i, bidder] of order.entries()) {
          const bid = await p.market.getBid(jobId, bidder);
          expect(Number(bid.allotted), `job ${jobId} bid ${i} allotted`).to.equal(plan.allotted[i]);
          if (plan.allotted[i] !== 0) {
            expect(Number(bid.segmentStart)).to.equal(plan.segmentStart[i]);
            if ((plan.allotted[i] as number) < (job.bids[i]?.capacity as number)) partialWinners++;
          }
        }
        const formed = await p.market.queryFilter(p.market.filters.GroupFormed(jobId));
        expect(formed).to.have.length(plan.groups.length);
        for (const [g, event] of formed.entries()) {
          const group = plan.groups[g];
          expect(Number(event.args.groupId)).to.equal(g);
          expect(Number(event.args.taskStart), `job ${jobId} group ${g}`).to.equal(
            group?.taskStart,
          );
          expect(Number(event.args.taskCount)).to.equal(group?.taskCount);
          expect([...event.args.members], `job ${jobId} group ${g} members`).to.deep.equal(
            group?.members.map((index) => order[index]),
          );
          groupsCompared++;
        }
        if (plan.filled) awarded++;
      }
      // The seeds must have exercised what the model claims to reproduce.
      expect(awarded).to.be.at.least(100);
      expect(awarded).to.be.lessThan(SEEDS); // unfilled jobs compared too
      expect(groupsCompared).to.be.greaterThan(awarded * 2);
      expect(partialWinners).to.be.greaterThan(0);
    } finally {
      await connection.close();
    }
  });
});
