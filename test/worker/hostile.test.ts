// Hostile jobs on the real Docker engine. A job may be written by an attacker: each attack
// below must be contained or refused with a clear reason, while a well-behaved task of the
// same worker runs next to it undisturbed, and the host stays untouched.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  buildBusyboxImage,
  busyboxImage,
  removeImage,
  saveImage,
  type TestImage,
} from "../../devnet/images.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import { outputHash } from "../../sdk/results/index.ts";
import {
  ensureImage,
  LABEL_WORKER,
  type TaskLimits,
  type TaskResult,
} from "../../worker/src/execution/index.ts";
import { docker, type RunOptions, taskRunner } from "./support/execution.ts";

const workerId = `hostile-test-${randomUUID()}`;
const tight: TaskLimits = {
  cpuMillicores: 500,
  memoryMiB: 32,
  pids: 16,
  timeoutSeconds: 2,
  maxOutputBytes: 1 << 20,
};
/** A CPU-bound task of about half a second whose output is known in advance. */
const WELL_BEHAVED = [
  "sh",
  "-c",
  "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo $i > /output/count; seq 1 100 > /output/seq",
];

let image: TestImage;
let scratch: string;
let expectedWellBehavedHash: string;

const run = taskRunner({
  image: () => image,
  scratch: () => scratch,
  limits: tight,
  jobId: 66n,
  workerId,
});

/** Runs the hostile task and a well-behaved one side by side; checks the latter is unharmed. */
async function alongsideWellBehaved(
  command: string[],
  extra: RunOptions = {},
): Promise<TaskResult & { outputDir: string }> {
  const outputDir = join(scratch, `hostile-${randomUUID()}`);
  const neighbourDir = join(scratch, `neighbour-${randomUUID()}`);
  const [hostile, neighbour] = await Promise.all([
    run(command, { outputDir, ...extra }),
    run(WELL_BEHAVED, {
      outputDir: neighbourDir,
      limits: { ...tight, timeoutSeconds: 20 },
      labels: { jobId: 67n, taskIndex: 1, workerId },
    }),
  ]);
  expect(neighbour.status, neighbour.reason).to.equal("succeeded");
  expect(await outputHash(neighbourDir)).to.equal(expectedWellBehavedHash);
  return { ...hostile, outputDir };
}

async function containersLeft(): Promise<number> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_WORKER}=${workerId}`] },
  });
  return list.length;
}

describe("execution#runTask against hostile jobs", function () {
  this.timeout(60_000);

  before(async () => {
    image = await busyboxImage();
    scratch = await mkdtemp(join(tmpdir(), "conun-hostile-"));
    const reference = join(scratch, "reference");
    const result = await run(WELL_BEHAVED, {
      outputDir: reference,
      limits: { ...tight, timeoutSeconds: 20 },
    });
    expect(result.status).to.equal("succeeded");
    expectedWellBehavedHash = await outputHash(reference);
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  afterEach(async () => {
    expect(await containersLeft()).to.equal(0);
  });

  it("contains a fork bomb at its process limit and kills it at the timeout", async () => {
    const result = await alongsideWellBehaved(["sh", "-c", "f() { f | f & }; f; sleep 60"]);
    expect(result.status).to.equal("timed-out");
    expect(result.reason).to.match(/process limit \(16\) reached/);
    expect(result.logs.stderr).to.contain("can't fork");
    // The host can still start processes.
    expect(execFileSync("true", { timeout: 5_000 }).length).to.equal(0);
  });

  it("kills a memory hog at its memory limit and reports out-of-memory", async () => {
    const result = await alongsideWellBehaved(
      [
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=256M",
        "count=1",
        // A generous clock: on a loaded machine the allocation must not lose a race with the
        // timeout — the memory limit is what this test is about.
      ],
      { limits: { ...tight, timeoutSeconds: 15 } },
    );
    expect(result.status).to.equal("out-of-memory");
    expect(result.reason).to.contain("32 MiB");
  });

  it("kills an infinite loop at the wall-clock timeout", async () => {
    const result = await alongsideWellBehaved(["sh", "-c", "while :; do :; done"], {
      limits: { ...tight, timeoutSeconds: 1.5 },
    });
    expect(result.status).to.equal("timed-out");
    expect(result.reason).to.contain("wall-clock timeout of 1.5 s");
    expect(result.durationMs).to.be.within(1_500, 5_000);
  });

  it("stops an output flood early, bounds the disk it used and gives it back", async () => {
    const result = await alongsideWellBehaved([
      "sh",
      "-c",
      "mkdir /output/d; i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/output/d/f$i bs=64k count=8 2>/dev/null; done",
    ]);
    expect(result.status).to.equal("output-too-large");
    expect(result.reason).to.contain("1048576 bytes");
    // Killed within a poll interval and a kill: far from filling a disk (see run-task.ts).
    expect(result.outputBytes).to.be.below(256 * 1024 * 1024);
    expect(await readdir(result.outputDir)).to.deep.equal([]);
  });

  it("finds a flood hidden in an unlistable directory", async () => {
    const result = await alongsideWellBehaved([
      "sh",
      "-c",
      "mkdir /output/h && chmod 300 /output/h; i=0; while :; do i=$((i+1)); dd if=/dev/zero of=/output/h/f$i bs=64k count=8 2>/dev/null; done",
    ]);
    expect(result.status).to.equal("output-too-large");
    expect(result.outputBytes).to.be.below(256 * 1024 * 1024);
  });

  it("stops a flood hidden below a path too long for the host to walk", async () => {
    // Two chains of 12 directories of 250-byte names, the second renamed into the first:
    // ~6 KB deep, past PATH_MAX, where a writer whose cwd moved along then floods.
    const chain = Array.from({ length: 12 }, () => "x".repeat(250)).join("/");
    const result = await alongsideWellBehaved(
      [
        "sh",
        "-c",
        `cd /output && mkdir -p a/${chain} b/${chain} || exit 9
         (cd b/${chain} && sleep 0.5 && i=0 && while :; do i=$((i+1)); dd if=/dev/zero of=f$i bs=64k count=8 2>/dev/null; done) &
         sleep 0.1; mv b a/${chain}/ || exit 8; wait`,
      ],
      { limits: { ...tight, timeoutSeconds: 10 } },
    );
    expect(result.status, result.reason).to.equal("invalid-output");
    // A root worker's quota file system bounds the flood and its final scan refuses the path
    // (quota.test.ts); without a quota the watcher cannot measure it and stops the task early.
    expect(result.reason).to.match(
      /output path longer than 3072 bytes|cannot be measured while running/,
    );
    // Discarded at once, deep as it was.
    expect(await readdir(result.outputDir)).to.deep.equal([]);
  });

  it("caps a single huge file with the file-size limit", async () => {
    const result = await alongsideWellBehaved([
      "dd",
      "if=/dev/zero",
      "of=/output/huge",
      "bs=1M",
      "count=64",
    ]);
    expect(result.status).to.equal("output-too-large");
    expect(result.outputBytes).to.equal(tight.maxOutputBytes + 1);
    expect(result.logs.stderr).to.contain("File too large");
  });

  it("gives a task no network: connections fail inside, even to the host's loopback", async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.end("host service");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await alongsideWellBehaved([
        "sh",
        "-c",
        `ls /sys/class/net > /output/interfaces
         if wget -q -T 2 -O - http://127.0.0.1:${port}/ > /output/loopback 2>/dev/null; then echo reached; else echo blocked; fi > /output/host
         if wget -q -T 2 -O /dev/null http://1.1.1.1/ 2>/dev/null; then echo reached; else echo blocked; fi > /output/internet`,
      ]);
      expect(result.status).to.equal("succeeded");
      expect(await readFile(join(result.outputDir, "interfaces"), "utf8")).to.equal("lo\n");
      expect(await readFile(join(result.outputDir, "host"), "utf8")).to.equal("blocked\n");
      expect(await readFile(join(result.outputDir, "internet"), "utf8")).to.equal("blocked\n");
      expect(requests).to.equal(0);
    } finally {
      server.close();
    }
  });

  it("refuses writes outside /output and execution from /tmp", async () => {
    const inputsDir = join(scratch, `inputs-${randomUUID()}`);
    await mkdir(inputsDir);
    await writeFile(join(inputsDir, "data"), "input");
    const attempt = (what: string, cmd: string) =>
      `if ${cmd} 2>/dev/null; then echo "${what} allowed"; else echo "${what} denied"; fi >> /output/report`;
    const result = await alongsideWellBehaved(
      [
        "sh",
        "-c",
        [
          attempt("root", "echo x > /evil"),
          attempt("etc", "echo x > /etc/passwd"),
          attempt("input", "echo x > /input/data"),
          attempt("hardlink", "ln /etc/passwd /output/passwd"),
          attempt("tmp-write", "printf '#!/bin/sh\\ntrue\\n' > /tmp/run && chmod +x /tmp/run"),
          attempt("tmp-exec", "/tmp/run"),
          attempt("chown", "chown 0 /output/report"),
        ].join("\n"),
      ],
      { inputsDir },
    );
    expect(result.status).to.equal("succeeded");
    expect((await readFile(join(result.outputDir, "report"), "utf8")).split("\n")).to.deep.equal([
      "root denied",
      "etc denied",
      "input denied",
      "hardlink denied",
      "tmp-write allowed",
      "tmp-exec denied",
      "chown denied",
      "",
    ]);
    expect(await readFile(join(inputsDir, "data"), "utf8")).to.equal("input");
  });

  it("refuses a symlink escape from /output without reading the host file it points to", async () => {
    const secretDir = join(scratch, `secret-${randomUUID()}`);
    await mkdir(secretDir);
    const secret = join(secretDir, "secret.txt");
    await writeFile(secret, "host secret");
    const before = await stat(secret);
    // A fifo: had the host opened it to hash or copy it, runTask would block right there.
    const trap = join(secretDir, "trap");
    execFileSync("mkfifo", [trap]);
    const result = await alongsideWellBehaved([
      "sh",
      "-c",
      `echo fine > /output/ok; ln -s ${secret} /output/leak; ln -s ${trap} /output/trap; ln -s / /output/root`,
    ]);
    expect(result.status).to.equal("invalid-output");
    expect(result.reason).to.match(/output holds a symlink: (leak|trap|root)/);
    expect(await readFile(secret, "utf8")).to.equal("host secret");
    const after = await stat(secret);
    expect(after.mtimeMs).to.equal(before.mtimeMs);
    expect(after.size).to.equal(before.size);
  });

  it("refuses an output holding a fifo", async () => {
    const result = await alongsideWellBehaved(["sh", "-c", "mkfifo /output/pipe"]);
    expect(result.status).to.equal("invalid-output");
    expect(result.reason).to.contain("special file: pipe");
  });

  it("refuses an image whose digest does not match, before any container starts", async () => {
    const store = await openContentStore({ kind: "local", dir: join(scratch, "store") });
    try {
      const impostor = await buildBusyboxImage("conun-test/impostor:1", {
        "etc/conun-marker": "impostor\n",
      });
      const cid = await store.addFile(await saveImage(impostor.id, join(scratch, "impostor.tar")));
      await removeImage(impostor.id);
      const named = await buildBusyboxImage("conun-test/named:1", {
        "etc/conun-marker": "named\n",
      });
      await removeImage(named.id);
      let refusal: { code?: string; message?: string } | undefined;
      try {
        await ensureImage(`ipfs://${cid}`, named.id, { docker, contentStore: store });
      } catch (error) {
        refusal = error as { code?: string; message?: string };
      }
      expect(refusal?.code).to.equal("image-digest-mismatch");
      expect(refusal?.message).to.contain(named.id);
      const loaded = await docker
        .getImage(impostor.id)
        .inspect()
        .then(
          () => true,
          () => false,
        );
      expect(loaded).to.equal(false);
      expect(await containersLeft()).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
