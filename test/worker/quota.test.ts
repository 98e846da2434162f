// The hard limit on what a task writes (worker/src/execution/output-quota.ts), on the real
// Docker engine: /output lives on a file system of the task's size and file count, so the
// kernel refuses the write past it, and the final scan alone decides the status. Each attack
// runs twice and must report the same status and the same leaf hash both times; the disk it
// takes is sampled while it runs and checked to be given back after.
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { expect } from "chai";
import { outputHash, unsuccessfulTaskHash } from "../../sdk/results/index.ts";
import {
  probeOutputQuota,
  removeStaleContainers,
  removeStaleOutputMounts,
  resolveOutputBound,
  type TaskLimits,
  type TaskResult,
} from "../../worker/src/execution/index.ts";
import { classifyOutcome, needsOutputCheck } from "../../worker/src/execution/outcome.ts";
import { docker, taskRunner, useBusybox, useScratch } from "./support/execution.ts";

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const workerId = `quota-test-${randomUUID()}`;
const CAP = 4 * MiB;
const limits: TaskLimits = {
  cpuMillicores: 1000,
  memoryMiB: 64,
  pids: 32,
  timeoutSeconds: 4,
  maxOutputBytes: CAP,
};
/**
 * What a task may cost the host's disk while it runs: the cap and 1 MiB of slack in data
 * blocks, plus the inode table of the entries it creates (256 B each, 2.5 MiB at the default
 * 10 000) and a few blocks of fixed metadata (README: "Output quota").
 */
/** For tasks that end on their own: a clock that a loaded machine cannot run out. */
const unhurried = { limits: { ...limits, timeoutSeconds: 30 } };
const diskBound = (entries: number) => CAP + MiB + 256 * entries + 128 * 1024;

const image = useBusybox();
const scratch = useScratch("conun-quota-");
const run = taskRunner({ image, scratch, limits, jobId: 14n, workerId });

/** The leaf a provider reports for a task: its output's hash, or the status's fixed hash. */
async function reportedHash(result: TaskResult, outputDir: string): Promise<string> {
  return result.status === "succeeded"
    ? outputHash(outputDir)
    : unsuccessfulTaskHash(result.status);
}

/** Bytes the host's disk holds for a task's output right now (allocated blocks, not sizes). */
async function diskUsed(outputDir: string): Promise<number> {
  const parent = dirname(outputDir);
  let used = 0;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(basename(outputDir))) continue;
    const path = join(parent, name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) continue;
    if (info.isFile()) used += info.blocks * 512;
    else if (info.isDirectory() && !(await isMountPoint(path))) {
      const { stdout } = await execFileAsync("du", ["-s", "-B1", "-x", path]).catch(() => ({
        stdout: "0",
      }));
      used += Number.parseInt(stdout, 10);
    }
  }
  return used;
}

/** What is left of a task's output on the host: its folder's entries and anything beside it. */
async function leftovers(outputDir: string): Promise<string[]> {
  const siblings = (await readdir(dirname(outputDir))).filter(
    (name) => name.startsWith(basename(outputDir)) && name !== basename(outputDir),
  );
  return [...siblings, ...(await readdir(outputDir).catch(() => [] as string[]))];
}

async function mountPoints(): Promise<string[]> {
  const table = await readFile("/proc/self/mountinfo", "utf8");
  return table
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split(" ")[4] as string);
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/** Mounts anywhere under this test's scratch folder. */
async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((point) => point.startsWith(dir));
}

/** Loop devices whose backing file lies under `dir`. */
async function loopDevicesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir("/sys/block")) {
    if (!name.startsWith("loop")) continue;
    const backing = await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => "");
    if (backing.startsWith(dir)) found.push(name);
  }
  return found;
}

/** Runs the task while sampling the disk it takes; resolves once it is over. */
async function runMeasured(
  command: string[],
  extra: Parameters<typeof run>[1] = {},
): Promise<TaskResult & { outputDir: string; peakDiskBytes: number; hash: string }> {
  const outputDir = join(scratch(), `out-${randomUUID()}`);
  let done = false;
  let peakDiskBytes = 0;
  const sampler = (async () => {
    while (!done) {
      peakDiskBytes = Math.max(peakDiskBytes, await diskUsed(outputDir));
      await sleep(25); // the sampling period, not a wait for a condition
    }
  })();
  try {
    const result = await run(command, { outputDir, ...extra });
    return { ...result, outputDir, peakDiskBytes, hash: await reportedHash(result, outputDir) };
  } finally {
    done = true;
    await sampler;
  }
}

/** Runs the task twice; both runs must agree on the status and the reported hash. */
async function twice(command: string[], extra: Parameters<typeof run>[1] = {}) {
  const first = await runMeasured(command, extra);
  const second = await runMeasured(command, extra);
  expect(second.status, `${first.reason} / ${second.reason}`).to.equal(first.status);
  expect(second.hash).to.equal(first.hash);
  for (const one of [first, second]) {
    // Moving a kept output out of its file system frees it file by file (mounted `discard`).
    expect(one.peakDiskBytes).to.be.at.most(diskBound(10_000));
    // Discarded output gives its disk back at once; kept output is a plain folder.
    if (one.status !== "succeeded") expect(await leftovers(one.outputDir)).to.deep.equal([]);
  }
  expect(await mountsUnder(scratch())).to.deep.equal([]);
  expect(await loopDevicesUnder(scratch())).to.deep.equal([]);
  return [first, second] as const;
}

describe("execution#runTask output quota", function () {
  this.timeout(120_000);

  before(async () => {
    const probe = await probeOutputQuota();
    if (!probe.ok) {
      // The quota needs a root worker; the unprivileged case is its own test below.
      throw new Error(`output quota unavailable here: ${probe.reason}`);
    }
  });

  it("resolves auto and required to the hard quota for a root worker", async () => {
    for (const setting of ["auto", "required"] as const) {
      const bound = await resolveOutputBound(setting, "/tmp");
      expect(bound, setting).to.deep.equal({
        runTask: "required",
        bid: { ok: true },
        summary: "hard quota (loop-ext4 file system per task)",
      });
    }
  });

  it("reports a padded flood (10 000 empty files, then large writes) the same way every time, within the cap + slack", async () => {
    const [first, second] = await twice([
      "sh",
      "-c",
      `mkdir /output/p; i=0; while [ $i -lt 9990 ]; do : > /output/p/f$i; i=$((i+1)); done
       j=0; while :; do j=$((j+1)); dd if=/dev/zero of=/output/big$j bs=1M count=8 2>/dev/null; done`,
    ]);
    expect(first.status, first.reason).to.equal("output-too-large");
    for (const one of [first, second]) {
      expect(one.reason).to.contain(`${CAP} bytes`);
      expect(one.peakDiskBytes).to.be.at.most(diskBound(10_000));
    }
  });

  it("stops many tiny files at the entry cap, the same way every time", async () => {
    const [first] = await twice(
      ["sh", "-c", "i=0; while true > /output/f$i; do i=$((i+1)); done 2>/dev/null; echo $i >&2"],
      unhurried,
    );
    expect(first.status, first.reason).to.equal("output-too-large");
    expect(first.reason).to.contain("more than 10000 entries");
    // The kernel ran out of inodes just past the cap: the task's loop ended on its own.
    expect(first.durationMs).to.be.below(unhurried.limits.timeoutSeconds * 1000);
    expect(first.exitCode).to.equal(0);
    expect(first.logs.stderr, "files the task created").to.match(/^\d+\n$/);
    expect(Number.parseInt(first.logs.stderr, 10)).to.be.within(10_001, 10_100);
  });

  it("keeps an output of exactly the cap, in one file or in 400", async () => {
    const [one] = await twice(["sh", "-c", `head -c ${CAP} /dev/zero > /output/exact`], unhurried);
    expect(one.status, one.reason).to.equal("succeeded");
    expect(one.outputBytes).to.equal(CAP);
    expect((await stat(join(one.outputDir, "exact"))).size).to.equal(CAP);
    // 10 485 B each: 11 blocks of 1 KiB, 779 B of rounding per file that the slack absorbs.
    const per = Math.floor(CAP / 400);
    const [many] = await twice(
      [
        "sh",
        "-c",
        `i=1; while [ $i -lt 400 ]; do head -c ${per} /dev/zero > /output/f$i || exit 1; i=$((i+1)); done
       head -c ${CAP - 399 * per} /dev/zero > /output/last`,
      ],
      unhurried,
    );
    expect(many.status, many.reason).to.equal("succeeded");
    expect(many.outputBytes).to.equal(CAP);
  });

  it("writes one byte over the cap but reports it output-too-large", async () => {
    const [first] = await twice(
      ["sh", "-c", `head -c ${CAP + 1} /dev/zero > /output/over && echo written >&2`],
      unhurried,
    );
    expect(first.status, first.reason).to.equal("output-too-large");
    expect(first.logs.stderr).to.equal("written\n");
  });

  it("gives a task no /dev/shm to fill and no host path in its mount table", async () => {
    const [first] = await twice(
      [
        "sh",
        "-c",
        `if dd if=/dev/zero of=/dev/shm/fill bs=1M count=8 2>/dev/null; then echo allowed; else echo denied; fi > /output/shm
       grep -c conun-quota- /proc/self/mountinfo > /output/host-paths; true`,
      ],
      unhurried,
    );
    expect(first.status, first.reason).to.equal("succeeded");
    expect(await readFile(join(first.outputDir, "shm"), "utf8")).to.equal("denied\n");
    expect(await readFile(join(first.outputDir, "host-paths"), "utf8")).to.equal("0\n");
  });

  it("leaves no mount behind after a worker crash: the restarted worker removes it", async () => {
    const outputDir = join(scratch(), "crashed");
    const script = `
      import { connectDocker, runTask } from "${process.cwd()}/worker/src/execution/index.ts";
      await runTask({
        docker: connectDocker(), imageId: "${image().id}", outputDir: "${outputDir}",
        command: ["sh", "-c", "echo started > /output/started; sleep 60"],
        limits: ${JSON.stringify({ ...limits, timeoutSeconds: 60 })},
        labels: { workerId: "${workerId}" },
      });
    `;
    const worker = spawn(
      join(process.cwd(), "node_modules/.bin/node"),
      ["--input-type=module", "-e", script],
      { stdio: "ignore" },
    );
    try {
      // Crash the worker once its task is running on the mounted quota file system.
      for (;;) {
        const mounted = await mountsUnder(scratch());
        if (mounted.length > 0) {
          const started = await readFile(join(mounted[0] as string, "started"), "utf8").catch(
            () => "",
          );
          if (started === "started\n") break;
        }
        expect(worker.exitCode, "the worker exited before its task started").to.equal(null);
        await sleep(20);
      }
      worker.kill("SIGKILL");
      await new Promise((resolve) => worker.once("exit", resolve));
      expect(await mountsUnder(scratch())).to.have.length(1);

      expect(await removeStaleContainers({ docker, workerId })).to.equal(1);
      expect(await removeStaleOutputMounts({ workerId })).to.equal(1);
      expect(await mountsUnder(scratch())).to.deep.equal([]);
      expect(await loopDevicesUnder(scratch())).to.deep.equal([]);
      expect(await leftovers(outputDir)).to.deep.equal([]);
      // A second sweep finds nothing; another worker's mounts are not its business.
      expect(await removeStaleOutputMounts({ workerId })).to.equal(0);
    } finally {
      if (worker.exitCode === null) worker.kill("SIGKILL");
    }
  });
});

describe("execution#runTask output quota in an unprivileged worker", function () {
  this.timeout(60_000);

  it("cannot mount, says so through the probe and the resolved setting, and refuses a task that requires the quota", async () => {
    // A worker process as uid 4242 in the docker group (see execution.test.ts).
    const dockerGid = (await execFileAsync("getent", ["group", "docker"])).stdout.split(":")[2];
    const refusedDir = `/tmp/conun-quota-unprivileged-${randomUUID()}`;
    const script = `
      import { probeOutputQuota, resolveOutputBound, runTask } from "${process.cwd()}/worker/src/execution/index.ts";
      import { connectDocker } from "${process.cwd()}/worker/src/execution/index.ts";
      const probe = await probeOutputQuota();
      const bounds = {};
      for (const setting of ["auto", "required", "off"]) {
        bounds[setting] = await resolveOutputBound(setting, "/tmp");
      }
      let refusal;
      try {
        await runTask({
          docker: connectDocker(), imageId: "${image().id}", outputDir: "${refusedDir}",
          command: ["true"], limits: ${JSON.stringify(limits)}, outputQuota: "required",
          labels: { workerId: "${workerId}" },
        });
      } catch (error) {
        refusal = { code: error.code, message: error.message };
      }
      console.log(JSON.stringify({ probe, bounds, refusal }));
    `;
    const { stdout } = await execFileAsync(
      join(process.cwd(), "node_modules/.bin/node"),
      ["--input-type=module", "-e", script],
      { uid: 4242, gid: Number(dockerGid), cwd: "/tmp", timeout: 45_000 },
    );
    const report = JSON.parse(stdout.trim().split("\n").at(-1) as string);
    expect(report.probe.ok).to.equal(false);
    expect(report.probe.reason).to.match(/not root.*run the worker as root/);
    // auto falls back to the watcher and says so; required refuses every bid; off never tries.
    expect(report.bounds.auto.runTask).to.equal("off");
    expect(report.bounds.auto.bid).to.deep.equal({ ok: true });
    expect(report.bounds.auto.summary).to.match(/^output watcher only.*not root/);
    expect(report.bounds.required.bid.ok).to.equal(false);
    expect(report.bounds.required.bid.reason).to.match(
      /not root.*limits.outputQuota is "required"/,
    );
    expect(report.bounds.off).to.deep.include({ runTask: "off", bid: { ok: true } });
    expect(report.refusal.code).to.equal("output-quota-unavailable");
    expect(report.refusal.message).to.match(/^cannot bound \/output: the worker is not root/);
    // Refused before anything was made.
    expect(await stat(refusedDir).catch(() => undefined)).to.equal(undefined);
  });
});

describe("execution#classifyOutcome with a bounded output", () => {
  const tooLarge = { ok: false as const, status: "output-too-large" as const, reason: "big" };
  const facts = { exitCode: 137, oomKilled: false, memoryMiB: 64, outputBounded: true };

  it("lets the final check decide before a timeout or an OOM kill, whose timing varies", () => {
    const timedOut = { status: "timed-out" as const, reason: "wall-clock timeout" };
    expect(classifyOutcome({ ...facts, killed: timedOut, output: tooLarge })).to.deep.equal({
      status: "output-too-large",
      reason: "big",
    });
    expect(classifyOutcome({ ...facts, oomKilled: true, output: tooLarge }).status).to.equal(
      "output-too-large",
    );
    // A valid output leaves the kill's own cause.
    expect(classifyOutcome({ ...facts, killed: timedOut, output: { ok: true } })).to.deep.equal(
      timedOut,
    );
  });

  it("still reports the worker's own cancellation, and checks every other run's output", () => {
    const cancelled = { status: "cancelled" as const, reason: "cancelled by the worker" };
    expect(classifyOutcome({ ...facts, killed: cancelled, output: tooLarge })).to.deep.equal(
      cancelled,
    );
    expect(needsOutputCheck({ ...facts, killed: cancelled })).to.equal(false);
    expect(needsOutputCheck({ ...facts, oomKilled: true })).to.equal(true);
    expect(needsOutputCheck({ ...facts, killed: { status: "timed-out", reason: "t" } })).to.equal(
      true,
    );
    expect(needsOutputCheck({ ...facts, outputBounded: false, oomKilled: true })).to.equal(false);
  });
});
