// `npm run bench:e2e`: how long the whole system takes, on this machine, from posting a job
// to its finalization — real node, real worker processes, real Docker.
//
// 1. A trivial job (1 task × 3 replicas, 3 workers), broken down by phase, after one warm-up
//    job (so each worker has loaded the image once, as a running provider would have):
//      post          requester's upload + permit + postJob, until the receipt
//      biddingWindow the configured bidding window (chain time)
//      award         from the window's end until JobAwarded (closeBidding; block timestamps
//                    are whole seconds, so up to 1 s of this is the chain's clock)
//      run           from the award to the first commit (workers fetch, run, hash, bundle)
//      commit        first to last commit
//      reveal        last commit to last reveal
//      finalize      last reveal to JobFinalized
//    protocolOverheadMs = total − configured bidding window − the task's run time in Docker
//    (the slowest replica's `durationMs`, read from the workers' logs).
// 2. Makespan (post to finalized) of a 48-task job with 1, 2, 3 and 6 workers. k = 1 here:
//    with k = 3 one or two workers could not fill a job at all; this measures how the work
//    spreads, not verification. Each worker bids for ⌈48 / n⌉ tasks.
//
// Prints a table and writes bench-results/e2e.json.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { buildDemoImage, type DemoImage } from "../devnet/image/build.ts";
import {
  type Chain,
  checkDocker,
  deploymentOf,
  REPO,
  type RunningWorker,
  startDevnet,
  startWorkers,
  waitForWorkersReady,
} from "../devnet/index.ts";
import { connectRequester, type RequesterContext } from "../requester/context.ts";
import { postJob } from "../requester/post.ts";
import { watchJob } from "../requester/watch.ts";
import { median } from "./stats.ts";

const BIDDING_SECONDS = 2;
const MAKESPAN_TASKS = 48;
const WORKER_COUNTS = [1, 2, 3, 6] as const;
const MEASURED_RUNS = 3;
/** Long enough for freshly started workers to catch up with the chain and bid. */
const WARM_UP_BIDDING_SECONDS = 8;

function manifest(
  image: DemoImage,
  tasks: { cols: number; rows: number },
  k: number,
  quorum: number,
  biddingSeconds = BIDDING_SECONDS,
) {
  return {
    version: 1,
    name: `bench-${tasks.cols * tasks.rows}x${k}`,
    deterministic: true,
    image: { archive: image.stableArchive },
    command: [
      "/bin/mandelbrot",
      "--width",
      String(64 * tasks.cols),
      "--height",
      String(64 * tasks.rows),
      "--cols",
      String(tasks.cols),
      "--rows",
      String(tasks.rows),
      "--iterations",
      "256",
    ],
    tasks: { count: tasks.cols * tasks.rows },
    resources: { cpuMillicores: 500, memoryMiB: 64, timeoutSeconds: 10, pids: 16 },
    replication: { k, quorum },
    price: { maxPerTaskReplica: "1", stakePerTaskReplica: "1" },
    windows: { biddingSeconds, executionSeconds: 3600, revealSeconds: 600 },
  };
}

interface TimedJob {
  jobId: bigint;
  totalMs: number;
  marks: Record<string, number>;
}

/** Posts a job and records when (wall clock, ms since posting began) each phase was seen. */
async function timeJob(
  ctx: RequesterContext,
  chain: Chain,
  body: Record<string, unknown>,
): Promise<TimedJob> {
  const start = performance.now();
  const marks: Record<string, number> = {};
  const posted = await postJob(ctx, { manifest: body, baseDir: REPO });
  marks.posted = performance.now() - start;
  const requester = chain.wallets[2];
  const final = await watchJob(chain.provider, chain.deployment.market, posted.jobId, {
    fromBlock: posted.blockNumber,
    pollMs: 25,
    timeoutMs: 10 * 60_000,
    ...(requester === undefined ? {} : { drive: requester }),
    onEvent: (event, progress) => {
      const now = performance.now() - start;
      const members = progress.groups.length * progress.replication;
      const count = (pick: (g: (typeof progress.groups)[number]) => number) =>
        progress.groups.reduce((sum, g) => sum + pick(g), 0);
      if (event.name === "JobAwarded") marks.awarded = now;
      if (event.name === "ResultCommitted") {
        marks.firstCommit ??= now;
        if (count((g) => g.committed.size) === members) marks.allCommitted = now;
      }
      if (event.name === "ResultRevealed" && count((g) => g.revealed.size) === members) {
        marks.allRevealed = now;
      }
      if (event.name === "JobFinalized") marks.finalized = now;
    },
  });
  if (final.status !== "Finalized") throw new Error(`job ${posted.jobId} ended ${final.status}`);
  return { jobId: posted.jobId, totalMs: marks.finalized ?? performance.now() - start, marks };
}

/** The slowest `task finished` durationMs the workers logged for `jobId`. */
async function taskRunMs(workers: RunningWorker[], jobId: bigint): Promise<number> {
  let slowest = 0;
  for (const worker of workers) {
    for (const line of (await readFile(worker.logFile, "utf8")).split("\n")) {
      if (!line.includes('"task finished"')) continue;
      const entry = JSON.parse(line) as { jobId?: string; durationMs?: number };
      if (entry.jobId === jobId.toString()) slowest = Math.max(slowest, entry.durationMs ?? 0);
    }
  }
  return slowest;
}

const round = (ms: number) => Math.round(ms);

async function main() {
  await checkDocker();
  const image = await buildDemoImage();
  const dir = await mkdtemp(path.join(tmpdir(), "conun-bench-e2e-"));
  const accounts = [3, 4, 5, 6, 7, 8];
  const devnet = await startDevnet({
    dir,
    chain: { deploy: "direct" },
    funding: { accounts: [2, ...accounts], amount: "5000" },
  });
  const { chain } = devnet;
  let workers: RunningWorker[] = [];
  const stopWorkers = async () => {
    for (const worker of workers) await worker.stop(10_000);
    workers = [];
  };
  const interrupted = () => {
    void stopWorkers()
      .then(() => devnet.stop())
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    const requester = chain.wallets[2];
    if (requester === undefined) throw new Error("no requester account");
    const ctx = await connectRequester({
      signer: requester,
      storeDir: path.join(dir, "content"),
      deployment: deploymentOf(chain),
    });
    let generation = 0;
    const launch = async (count: number, maxTaskReplicas: number) => {
      await stopWorkers();
      generation++;
      workers = await startWorkers(
        chain,
        accounts.slice(0, count).map((account) => ({
          name: `g${generation}-w${account}`,
          account,
          config: {
            capacity: { maxTaskReplicas },
            stake: { target: "1000" },
            pollIntervalMs: 100,
            log: { level: "info", json: true },
          },
        })),
        { dir: path.join(dir, "workers"), contentDir: path.join(dir, "content") },
      );
      await waitForWorkersReady(chain, workers, 90_000);
    };

    // 1. The trivial job, by phase.
    await launch(3, 8);
    const trivial = manifest(image, { cols: 1, rows: 1 }, 3, 2);
    console.log("warm-up job (image load) …");
    await timeJob(ctx, chain, manifest(image, { cols: 1, rows: 1 }, 3, 2, WARM_UP_BIDDING_SECONDS));
    const runs: { job: TimedJob; runMs: number }[] = [];
    for (let i = 0; i < MEASURED_RUNS; i++) {
      const job = await timeJob(ctx, chain, trivial);
      runs.push({ job, runMs: await taskRunMs(workers, job.jobId) });
      console.log(`trivial job ${job.jobId}: ${round(job.totalMs)} ms`);
    }
    const windowMs = BIDDING_SECONDS * 1000;
    const phases = (job: TimedJob) => {
      const m = job.marks;
      const at = (key: string) => m[key] ?? Number.NaN;
      return {
        post: at("posted"),
        biddingWindow: windowMs,
        award: at("awarded") - at("posted") - windowMs,
        run: at("firstCommit") - at("awarded"),
        commit: at("allCommitted") - at("firstCommit"),
        reveal: at("allRevealed") - at("allCommitted"),
        finalize: at("finalized") - at("allRevealed"),
      };
    };
    const perRun = runs.map(({ job }) => phases(job));
    const phasesMs = Object.fromEntries(
      Object.keys(perRun[0] ?? {}).map((key) => [
        key,
        round(median(perRun.map((p) => p[key as keyof typeof p]))),
      ]),
    );
    const postToFinalizedMs = round(median(runs.map((r) => r.job.totalMs)));
    const protocolOverheadMs = round(median(runs.map((r) => r.job.totalMs - windowMs - r.runMs)));
    const taskRun = round(median(runs.map((r) => r.runMs)));

    // 2. Makespan of 48 tasks.
    const makespanMs: Record<string, number> = {};
    const big = manifest(image, { cols: 8, rows: 6 }, 1, 1);
    for (const count of WORKER_COUNTS) {
      await launch(count, Math.ceil(MAKESPAN_TASKS / count));
      // Warm-up: every new worker has found the chain, loaded the image and bid once.
      await timeJob(
        ctx,
        chain,
        manifest(image, { cols: count, rows: 1 }, 1, 1, WARM_UP_BIDDING_SECONDS),
      );
      const job = await timeJob(ctx, chain, big);
      makespanMs[String(count)] = round(job.totalMs);
      console.log(`48 tasks, ${count} worker(s): ${round(job.totalMs)} ms`);
    }
    await ctx.store.close();

    const phaseTable = new Table({
      head: ["trivial job (1 task × 3)", "ms"],
      style: { head: [], border: [] },
    });
    for (const [key, value] of Object.entries(phasesMs)) phaseTable.push([key, value]);
    phaseTable.push(["post to finalized", postToFinalizedMs]);
    phaseTable.push(["task run time in Docker", taskRun]);
    phaseTable.push(["protocol overhead", protocolOverheadMs]);
    const makespanTable = new Table({
      head: ["48 tasks (k = 1): workers", "makespan ms", "speed-up"],
      style: { head: [], border: [] },
    });
    const one = makespanMs["1"] ?? 1;
    for (const [count, ms] of Object.entries(makespanMs)) {
      makespanTable.push([count, ms, (one / ms).toFixed(2)]);
    }
    console.log(`\n${phaseTable.toString()}\n${makespanTable.toString()}`);
    console.log(
      `(median of ${MEASURED_RUNS} runs after a warm-up; bidding window ${BIDDING_SECONDS} s)`,
    );

    const result = { postToFinalizedMs, protocolOverheadMs, phasesMs, makespanMs };
    await mkdir(path.join(REPO, "bench-results"), { recursive: true });
    await writeFile(
      path.join(REPO, "bench-results/e2e.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log("wrote bench-results/e2e.json");
  } finally {
    await stopWorkers();
    await devnet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
