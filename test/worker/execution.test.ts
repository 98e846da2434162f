import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { outputHash } from "../../sdk/results/index.ts";
import {
  LABEL_WORKER,
  removeStaleContainers,
  type TaskLimits,
} from "../../worker/src/execution/index.ts";
import { docker, rejection, taskRunner, useBusybox, useScratch } from "./support/execution.ts";

const workerId = `execution-test-${randomUUID()}`;
const limits: TaskLimits = {
  cpuMillicores: 1000,
  memoryMiB: 64,
  pids: 32,
  timeoutSeconds: 10,
  maxOutputBytes: 1 << 20,
};

const image = useBusybox();
const scratch = useScratch("conun-exec-");

async function ourContainers(): Promise<number> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_WORKER}=${workerId}`] },
  });
  return list.length;
}

const run = taskRunner({ image, scratch, limits, jobId: 1n, workerId });

describe("execution#runTask", function () {
  this.timeout(30_000);

  it("runs the argv with TASK_INDEX, TASK_COUNT and args as nobody, writing /output", async () => {
    const outputDir = join(scratch(), "out");
    const result = await run(
      [
        "sh",
        "-c",
        'echo "task $TASK_INDEX of $TASK_COUNT args $1 $2" > /output/result.txt; id -u > /output/uid',
        "sh",
        "--tile",
        "7",
      ],
      { outputDir, env: { TASK_INDEX: "7", TASK_COUNT: "16" } },
    );
    expect(result.status).to.equal("succeeded");
    expect(result.exitCode).to.equal(0);
    expect(await readFile(join(outputDir, "result.txt"), "utf8")).to.equal(
      "task 7 of 16 args --tile 7\n",
    );
    expect(await readFile(join(outputDir, "uid"), "utf8")).to.equal("65534\n");
    expect(result.outputBytes).to.equal(27 + 6);
  });

  it("mounts inputs read-only at /input", async () => {
    const inputsDir = join(scratch(), "in");
    await mkdir(join(inputsDir, "data"), { recursive: true });
    await writeFile(join(inputsDir, "data", "numbers.txt"), "1\n2\n3\n");
    const outputDir = join(scratch(), "out");
    const result = await run(
      [
        "sh",
        "-c",
        "wc -l < /input/data/numbers.txt > /output/count; " +
          "if echo x > /input/data/new 2>/dev/null; then echo writable; else echo read-only; fi > /output/input-mode",
      ],
      { inputsDir, outputDir },
    );
    expect(result.status).to.equal("succeeded");
    expect((await readFile(join(outputDir, "count"), "utf8")).trim()).to.equal("3");
    expect(await readFile(join(outputDir, "input-mode"), "utf8")).to.equal("read-only\n");
    expect(await readdir(join(inputsDir, "data"))).to.deep.equal(["numbers.txt"]);
  });

  it("produces the same output hash on two runs of a deterministic task", async () => {
    const command = [
      "sh",
      "-c",
      "mkdir -p /output/a/b; seq 1 1000 > /output/a/b/seq; echo done > /output/z; sleep 0.1; date > /tmp/not-output",
    ];
    const one = join(scratch(), "one");
    const two = join(scratch(), "two");
    expect((await run(command, { outputDir: one })).status).to.equal("succeeded");
    expect((await run(command, { outputDir: two })).status).to.equal("succeeded");
    const hash = await outputHash(one);
    expect(hash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await outputHash(two)).to.equal(hash);
  });

  it("reports a non-zero exit as failed, with the tail of stdout and stderr", async () => {
    const result = await run(["sh", "-c", "echo working; echo broken >&2; exit 3"]);
    expect(result.status).to.equal("failed");
    expect(result.exitCode).to.equal(3);
    expect(result.reason).to.equal("exited with code 3");
    expect(result.logs).to.deep.equal({ stdout: "working\n", stderr: "broken\n" });
  });

  it("reports a command the image cannot execute as failed, not as an engine error", async () => {
    const result = await run(["/no/such/program", "arg"]);
    expect(result.status).to.equal("failed");
    expect(result.exitCode).to.equal(null);
    expect(result.reason).to.match(/cannot be executed in this image: exec: "\/no\/such\/program"/);
    expect(await ourContainers()).to.equal(0);
  });

  it("keeps only the last bytes of a chatty task's logs", async () => {
    const result = await run(["sh", "-c", "seq 1 50000; echo last-line"], { logTailBytes: 1024 });
    expect(result.status).to.equal("succeeded");
    expect(result.logs.stdout.length).to.be.at.most(1024);
    expect(result.logs.stdout.endsWith("50000\nlast-line\n")).to.equal(true);
  });

  it("stops a task when the worker aborts it, and reports it cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await run(["sleep", "30"], { signal: controller.signal });
    expect(result.status).to.equal("cancelled");
    expect(Date.now() - started).to.be.below(5_000);
  });

  it("removes its container once the task is over", async () => {
    await run(["true"]);
    await run(["sh", "-c", "exit 1"]);
    expect(await ourContainers()).to.equal(0);
  });

  it("refuses bad requests before creating any container", async () => {
    expect((await rejection(run([]))).code).to.equal("task-invalid");
    expect((await rejection(run(["true"], { user: { uid: 0, gid: 0 } }))).code).to.equal(
      "task-invalid",
    );
    expect((await rejection(run(["true"], { env: { "BAD=NAME": "x" } }))).code).to.equal(
      "task-invalid",
    );
    expect((await rejection(run(["true"], { limits: { ...limits, memoryMiB: 0 } }))).code).to.equal(
      "task-invalid",
    );
    expect(await ourContainers()).to.equal(0);
  });

  it("asks the engine for GPUs when the job needs them (refused by this GPU-less engine)", async () => {
    const error = await rejection(run(["true"], { limits: { ...limits, gpuCount: 1 } }));
    expect(error.code).to.equal("docker-failed");
    expect(error.message).to.contain('device driver "nvidia"');
    expect(await ourContainers()).to.equal(0);
  });

  it("runs as another user when told to, owning /output as that user", async () => {
    const outputDir = join(scratch(), "out");
    const result = await run(["sh", "-c", "id -u > /output/uid"], {
      outputDir,
      user: { uid: 4242, gid: 4242 },
    });
    expect(result.status).to.equal("succeeded");
    expect(await readFile(join(outputDir, "uid"), "utf8")).to.equal("4242\n");
    expect((await stat(join(outputDir, "uid"))).uid).to.equal(4242);
  });
});

describe("execution#runTask in an unprivileged worker", function () {
  this.timeout(60_000);

  it("runs tasks as the worker's own user, which can hash, bound and delete even locked output", async () => {
    // A worker process as uid 4242 in the docker group: the common non-root deployment.
    const dockerGid = Number(execFileSync("getent", ["group", "docker"]).toString().split(":")[2]);
    await chmod(scratch(), 0o755);
    const home = join(scratch(), "worker-home");
    await mkdir(home);
    await chown(home, 4242, dockerGid);
    const script = `
      import { outputHash } from "${process.cwd()}/sdk/results/index.ts";
      import { connectDocker, removeOutput, runTask } from "${process.cwd()}/worker/src/execution/index.ts";
      const outputDir = "${home}/out";
      const result = await runTask({
        docker: connectDocker(), imageId: "${image().id}", outputDir,
        command: ["sh", "-c", "mkdir -p /output/a/b && id -u > /output/a/b/uid && chmod 000 /output/a/b/uid /output/a"],
        limits: ${JSON.stringify(limits)}, labels: { workerId: "${workerId}" },
      });
      const hash = await outputHash(outputDir);
      await removeOutput(outputDir);
      const flood = await runTask({
        docker: connectDocker(), imageId: "${image().id}", outputDir,
        command: ["sh", "-c", "mkdir /output/h && chmod 300 /output/h; i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/output/h/f$i bs=64k count=8 2>/dev/null; done"],
        limits: ${JSON.stringify(limits)}, labels: { workerId: "${workerId}" },
      });
      await removeOutput(outputDir);
      console.log(JSON.stringify({ status: result.status, reason: result.reason, hash, flood: flood.status }));
    `;
    const stdout = execFileSync(
      join(process.cwd(), "node_modules/.bin/node"),
      ["--input-type=module", "-e", script],
      { uid: 4242, gid: dockerGid, cwd: home, timeout: 45_000 },
    ).toString();
    const report = JSON.parse(stdout.trim().split("\n").at(-1) as string);
    expect(report.status, report.reason).to.equal("succeeded");
    // A flood in a directory it made unlistable (-wx) is still seen and stopped.
    expect(report.flood).to.equal("output-too-large");
    const expected = createHash("sha256").update(
      `a/b/uid\0${createHash("sha256").update("4242\n").digest("hex")}\n`,
    );
    expect(report.hash).to.equal(`0x${expected.digest("hex")}`);
    expect(await readdir(home)).to.deep.equal([]);
  });
});

describe("execution#removeStaleContainers", function () {
  this.timeout(30_000);

  async function leftover(worker: string) {
    return docker.createContainer({
      Image: image().id,
      Cmd: ["sleep", "30"],
      Labels: { "conun.job": "5", "conun.task": "2", [LABEL_WORKER]: worker },
      HostConfig: { NetworkMode: "none" },
    });
  }

  it("removes this worker's leftover task containers, running or not, and no one else's", async () => {
    const running = await leftover(workerId);
    await running.start();
    await leftover(workerId);
    const otherWorker = `other-${randomUUID()}`;
    const foreign = await leftover(otherWorker);
    try {
      expect(await removeStaleContainers({ docker, workerId })).to.equal(2);
      expect(await ourContainers()).to.equal(0);
      expect((await foreign.inspect()).Id).to.equal(foreign.id);
    } finally {
      await foreign.remove({ force: true });
    }
  });
});
