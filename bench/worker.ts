// The worker benchmark (npm run bench:worker). Everything is measured in one run on this
// machine, so the figures are ratios against a baseline taken under the same conditions:
//
// 1. Overhead: for a trivial task (`true`) and a ~1 s CPU task, the worker's time from
//    "assignment seen" (the `awarded` journal entry) to "commit sent" (the commit transaction's
//    `tx-signed` entry) — manifest check, image check, container, output hash, bundle, content
//    store, salt, journal — against the median of a bare `docker run` of the same image and
//    command with the same limits (bench/worker-exec.ts).
// 2. Throughput: a job of 8 tasks that each sleep 1 s, run by one worker with 1, 2 and 4 slots;
//    tasks per minute from assignment seen to commit sent. Sleeping tasks measure the worker's
//    parallelism, not the machine's cores (2 here).
//
// Jobs use replication 1 so one worker takes them whole. Writes bench-results/worker.json.
//   node_modules/.bin/node bench/worker.ts [--runs 3]
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { type Cluster, fundProviders, postManifestJob, startCluster } from "../devnet/cluster.ts";
import { startWorkerProcess, type WorkerProcess, waitFor } from "../devnet/workers.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import { median } from "./stats.ts";
import { BENCH_LIMITS, benchWorkerExec } from "./worker-exec.ts";

const REPO = path.join(import.meta.dirname, "..");

interface JournalLine {
  time: string;
  type: string;
  jobId?: string;
  action?: string;
}

/** Milliseconds from the `awarded` entry to the commit's `tx-signed` entry of `jobId`. */
async function assignmentToCommitMs(worker: WorkerProcess, jobId: bigint): Promise<number> {
  const lines = (await readFile(path.join(worker.dataDir, "journal.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as JournalLine);
  const key = jobId.toString();
  const awarded = lines.find((l) => l.jobId === key && l.type === "awarded");
  const commit = lines.find(
    (l) => l.jobId === key && l.type === "tx-signed" && l.action === "commit",
  );
  if (awarded === undefined || commit === undefined)
    throw new Error(`job ${key}: no award/commit in the journal`);
  return Date.parse(commit.time) - Date.parse(awarded.time);
}

/** Posts a k = 1 job, lets `worker` win it, and returns the assignment → commit time. */
async function runJob(
  cluster: Cluster,
  worker: WorkerProcess,
  options: Parameters<typeof postManifestJob>[1],
): Promise<number> {
  const market = JobMarket__factory.connect(cluster.node.deployment.market, cluster.node.provider);
  const { jobId } = await postManifestJob(cluster, { replication: 1, ...options });
  await waitFor(
    "the bid",
    async () => (await market.getJob(jobId)).bidCount === 1n,
    60_000,
    () => worker.output().slice(-3000),
  );
  const { biddingDeadline } = await market.getJob(jobId);
  const now = BigInt((await cluster.node.provider.getBlock("latest"))?.timestamp ?? 0);
  await cluster.node.advance(Number(biddingDeadline - now) + 1);
  await waitFor(
    "the commit",
    async () => (await market.getGroup(jobId, 0)).commitCount === 1n,
    180_000,
    () => worker.output().slice(-3000),
  );
  return assignmentToCommitMs(worker, jobId);
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
  const runs = Math.max(1, Number(values.runs));
  const log = (line: string) => process.stderr.write(`${line}\n`);

  log("measuring bare docker run …");
  const exec = await benchWorkerExec({ runs, log });
  const cluster = await startCluster();
  const workers: WorkerProcess[] = [];
  try {
    await fundProviders(cluster, [3, 4, 5, 6]);
    const resources = {
      cpuMillicores: BENCH_LIMITS.cpuMillicores,
      memoryMiB: BENCH_LIMITS.memoryMiB,
      pids: BENCH_LIMITS.pids,
      timeoutSeconds: BENCH_LIMITS.timeoutSeconds,
    };
    const worker = await startWorkerProcess(cluster, {
      name: "bench",
      account: 3,
      slots: 1,
      extra: { pollIntervalMs: 100, log: { level: "warn", json: true } },
    });
    workers.push(worker);
    const overhead: { name: string; bareMs: number; workerMs: number; ratio: number }[] = [];
    for (const execCase of exec.cases) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        times.push(await runJob(cluster, worker, { command: execCase.command, ...resources }));
        log(`${execCase.name} #${i}: assignment → commit ${times.at(-1)} ms`);
      }
      const workerMs = median(times);
      overhead.push({
        name: execCase.name,
        bareMs: execCase.bareMedianMs,
        workerMs,
        ratio: workerMs / execCase.bareMedianMs,
      });
    }
    await worker.stop();

    const tasks = 8;
    const tasksPerMinute: Record<"1" | "2" | "4", number> = { "1": 0, "2": 0, "4": 0 };
    for (const [i, slots] of ([1, 2, 4] as const).entries()) {
      const w = await startWorkerProcess(cluster, {
        name: `slots-${slots}`,
        account: 4 + i,
        slots,
        extra: {
          pollIntervalMs: 100,
          log: { level: "warn", json: true },
          capacity: { slots, cpuMillicores: 4000, memoryMiB: 4096, gpuCount: 0 },
        },
      });
      workers.push(w);
      const ms = await runJob(cluster, w, {
        command: ["/bin/sleep", "1"],
        taskCount: tasks,
        cpuMillicores: 250,
        memoryMiB: 64,
      });
      tasksPerMinute[String(slots) as "1" | "2" | "4"] = Number(((tasks * 60_000) / ms).toFixed(1));
      log(`${slots} slot(s): ${tasks} tasks in ${ms} ms`);
      await w.stop();
    }

    const table = new Table({ head: ["measure", "bare docker run (ms)", "worker (ms)", "ratio"] });
    for (const row of overhead) {
      table.push([
        `assignment → commit, ${row.name}`,
        row.bareMs.toFixed(0),
        row.workerMs.toFixed(0),
        row.ratio.toFixed(2),
      ]);
    }
    const throughput = new Table({ head: ["slots", "tasks/minute (8 × sleep 1)"] });
    for (const [slots, rate] of Object.entries(tasksPerMinute))
      throughput.push([slots, rate.toFixed(1)]);
    console.log(table.toString());
    console.log(throughput.toString());

    const result = {
      overheadRatioTrivial: Number((overhead[0]?.ratio ?? 0).toFixed(3)),
      overheadRatio1s: Number((overhead[1]?.ratio ?? 0).toFixed(3)),
      tasksPerMinute,
    };
    await mkdir(path.join(REPO, "bench-results"), { recursive: true });
    await writeFile(
      path.join(REPO, "bench-results", "worker.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
    await cluster.stop();
  }
}

await main();
