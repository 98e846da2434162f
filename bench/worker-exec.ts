// Execution overhead of the worker's runner against a bare `docker run`, measured in one run
// on the same image with the same limits: for a trivial task (`true`) and a ~1 s CPU task
// (a busy loop in busybox sh, calibrated on this machine), N interleaved runs of each of
//   bare:   docker run --rm <same limits> image cmd          (the CLI, via child_process)
//   runner: runTask(...) + outputHash(/output)                (what the worker does per task)
// Prints a table and the ratios (runner median / bare median) as JSON.
//
//   node_modules/.bin/node bench/worker-exec.ts [--runs 5] [--json out.json]
//
// The full `bench:worker` (assignment seen → commit sent, throughput per slot count) builds
// on `benchWorkerExec` below.
import { execFile } from "node:child_process";
import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Table from "cli-table3";
import { busyboxImage } from "../devnet/images.ts";
import { outputHash } from "../sdk/results/index.ts";
import { connectDocker, runTask, type TaskLimits } from "../worker/src/execution/index.ts";
import { median } from "./stats.ts";

const execFileAsync = promisify(execFile);

export interface ExecBenchCase {
  name: string;
  command: string[];
  bareMs: number[];
  runnerMs: number[];
  bareMedianMs: number;
  runnerMedianMs: number;
  ratio: number;
}

export interface ExecBenchResult {
  runs: number;
  image: string;
  loopIterations: number;
  cases: ExecBenchCase[];
  overheadRatioTrivial: number;
  overheadRatio1s: number;
}

export const BENCH_LIMITS: TaskLimits = {
  cpuMillicores: 1000,
  memoryMiB: 256,
  pids: 64,
  timeoutSeconds: 60,
  maxOutputBytes: 10 * 1024 * 1024,
};

/** The same sandbox as runTask, spelled as `docker run` flags. */
function bareArgs(imageId: string, outputDir: string, command: string[], limits: TaskLimits) {
  return [
    "run",
    "--rm",
    "--network",
    "none",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,noexec,nosuid,nodev,mode=1777,size=64m",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--pids-limit",
    String(limits.pids),
    "--memory",
    `${limits.memoryMiB}m`,
    "--memory-swap",
    `${limits.memoryMiB}m`,
    "--cpus",
    String(limits.cpuMillicores / 1000),
    "--user",
    "65534:65534",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    `fsize=${limits.maxOutputBytes + 1}`,
    "--mount",
    `type=bind,source=${outputDir},target=/output`,
    "--entrypoint",
    command[0] as string,
    imageId,
    ...command.slice(1),
  ];
}

const loop = (iterations: number) => [
  "sh",
  "-c",
  `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i > /output/result`,
];

/**
 * Iterations of the busy loop that take about `cpuSeconds` of CPU here, timed inside the
 * container by busybox's `time`; the smallest of three probes, so that a burst of load from
 * elsewhere during calibration does not shrink the loop.
 */
async function calibrate(imageId: string, cpuSeconds: number): Promise<number> {
  const probe = 500_000;
  let fastest = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const { stderr } = await execFileAsync(
      "docker",
      ["run", "--rm", "--network", "none", "--cpus", "1", imageId, "time", ...loop(probe)].map(
        (arg) => arg.replace("> /output/result", "> /dev/null"),
      ),
      { timeout: 120_000 },
    );
    // CPU time (user + sys), not wall time: load from elsewhere stretches the latter only.
    const cpu = [...stderr.matchAll(/(?:user|sys)\s+(\d+)m\s*([\d.]+)s/g)];
    if (cpu.length !== 2) throw new Error(`cannot read busybox time output: ${stderr}`);
    const seconds = cpu.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
    fastest = Math.min(fastest, seconds);
  }
  return Math.max(1, Math.round((probe * cpuSeconds) / Math.max(fastest, 0.01)));
}

export async function benchWorkerExec(
  options: { runs?: number; log?: (line: string) => void } = {},
): Promise<ExecBenchResult> {
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => {});
  const image = await busyboxImage();
  const docker = connectDocker();
  const scratch = await mkdtemp(join(tmpdir(), "conun-bench-exec-"));
  try {
    const loopIterations = await calibrate(image.id, 1);
    log(`busy loop: ${loopIterations} iterations ≈ 1 s`);
    const cases: ExecBenchCase[] = [];
    for (const [name, command] of [
      ["trivial (true)", ["true"]],
      ["1 s CPU", loop(loopIterations)],
    ] as const) {
      const bareMs: number[] = [];
      const runnerMs: number[] = [];
      // One warm-up of each, then interleave so that drift hits both sides alike.
      for (let i = -1; i < runs; i++) {
        const bareDir = join(scratch, `bare-${cases.length}-${i}`);
        await mkdir(bareDir);
        await chown(bareDir, 65534, 65534);
        let started = performance.now();
        await execFileAsync("docker", bareArgs(image.id, bareDir, [...command], BENCH_LIMITS), {
          timeout: 120_000,
        });
        const bare = performance.now() - started;
        const runnerDir = join(scratch, `runner-${cases.length}-${i}`);
        started = performance.now();
        const result = await runTask({
          docker,
          imageId: image.id,
          command,
          outputDir: runnerDir,
          limits: BENCH_LIMITS,
          labels: { workerId: "bench-worker-exec" },
        });
        await outputHash(runnerDir);
        const runner = performance.now() - started;
        if (result.status !== "succeeded") throw new Error(`runner: ${result.reason}`);
        if (i >= 0) {
          bareMs.push(bare);
          runnerMs.push(runner);
        }
        log(`${name} #${i}: bare ${bare.toFixed(0)} ms, runner ${runner.toFixed(0)} ms`);
      }
      const bareMedianMs = median(bareMs);
      const runnerMedianMs = median(runnerMs);
      cases.push({
        name,
        command: [...command],
        bareMs,
        runnerMs,
        bareMedianMs,
        runnerMedianMs,
        ratio: runnerMedianMs / bareMedianMs,
      });
    }
    return {
      runs,
      image: image.id,
      loopIterations,
      cases,
      overheadRatioTrivial: (cases[0] as ExecBenchCase).ratio,
      overheadRatio1s: (cases[1] as ExecBenchCase).ratio,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function formatExecBench(result: ExecBenchResult): string {
  const table = new Table({
    head: ["task", "bare docker run (median ms)", "runTask + outputHash (median ms)", "ratio"],
  });
  for (const c of result.cases) {
    table.push([
      c.name,
      c.bareMedianMs.toFixed(0),
      c.runnerMedianMs.toFixed(0),
      c.ratio.toFixed(2),
    ]);
  }
  return table.toString();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at === -1 ? undefined : args[at + 1];
  };
  const result = await benchWorkerExec({
    runs: Number(flag("--runs") ?? 5),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(formatExecBench(result));
  const summary = {
    overheadRatioTrivial: Number(result.overheadRatioTrivial.toFixed(3)),
    overheadRatio1s: Number(result.overheadRatio1s.toFixed(3)),
    bareMedianMs: Object.fromEntries(result.cases.map((c) => [c.name, Math.round(c.bareMedianMs)])),
    runnerMedianMs: Object.fromEntries(
      result.cases.map((c) => [c.name, Math.round(c.runnerMedianMs)]),
    ),
    runs: result.runs,
  };
  const out = flag("--json");
  if (out !== undefined) await writeFile(out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));
}
