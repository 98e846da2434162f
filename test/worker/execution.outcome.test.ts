// How a task ended reaches the results bundle: the worker runs a job's tasks in real Docker
// containers (executeJob, what the daemon calls) and the bundle records each task's exit code,
// the escaped tail of its stderr and the reason — next to the leaf, never in it.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { busyboxImage, type TestImage } from "../../devnet/images.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import { silentLogger } from "../../sdk/logger.ts";
import { parseManifest } from "../../sdk/manifest/index.ts";
import {
  readBundle,
  resultRoot,
  unsuccessfulTaskHash,
  verifyBundle,
} from "../../sdk/results/index.ts";
import { Semaphore, type WorkerContext } from "../../worker/src/context.ts";
import { connectDocker, resolveOutputBound, runTask } from "../../worker/src/execution/index.ts";
import { executeJob, publishBundle } from "../../worker/src/jobs/execute.ts";
import { createMetrics } from "../../worker/src/metrics/metrics.ts";
import { controlCharacters } from "../helpers/text.ts";

/** How this machine bounds task outputs, as a worker started here resolves it. */
const outputBound = await resolveOutputBound("auto", tmpdir());

const docker = connectDocker();
const workerId = `outcome-test-${randomUUID()}`;
/** Any valid CID: the image is already present under its ID, so it is never fetched. */
const IMAGE_CID = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe";
const PROVIDER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** Three tasks: one that works, one whose script has a typo, one that paints its stderr. */
const SCRIPTS = [
  "echo ok > /output/result.txt",
  "ech hi > /output/result.txt",
  "printf '\\033[31mred alert\\033[0m\\033]0;owned\\007\\r\\n' >&2; echo done > /output/r; exit 3",
];

let image: TestImage;
let scratch: string;
let store: ContentStore;

before(async function () {
  this.timeout(60_000);
  image = await busyboxImage();
});
beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "conun-outcome-"));
  store = await openContentStore({ kind: "local", dir: path.join(scratch, "store") });
});
afterEach(async () => {
  await store.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A worker context with what executeJob uses: real Docker, a real store, real limits. */
function workerContext(): WorkerContext {
  return {
    config: { dataDir: path.join(scratch, "data") },
    log: silentLogger,
    address: PROVIDER,
    docker,
    store,
    metrics: createMetrics(),
    slots: new Semaphore(2),
    outputBound,
    shutdown: new AbortController().signal,
  } as unknown as WorkerContext;
}

function manifest() {
  return parseManifest({
    version: 1,
    name: "outcome",
    deterministic: true,
    image: { ref: `ipfs://${IMAGE_CID}`, id: image.id },
    command: ["/bin/sh", "-c"],
    tasks: { count: SCRIPTS.length, args: SCRIPTS.map((script) => [script]) },
    resources: { cpuMillicores: 500, memoryMiB: 64, timeoutSeconds: 20 },
    replication: { k: 1, quorum: 1 },
    price: { maxPerTaskReplica: "1", stakePerTaskReplica: "1" },
    windows: { biddingSeconds: 60, executionSeconds: 600, revealSeconds: 300 },
  });
}

describe("execution#task outcome in the results bundle", function () {
  this.timeout(120_000);

  it("reproduces the typo: the shell exits 127 and says so on stderr", async () => {
    const result = await runTask({
      docker,
      imageId: image.id,
      command: ["/bin/sh", "-c", SCRIPTS[1] as string],
      outputDir: path.join(scratch, "out"),
      limits: {
        cpuMillicores: 500,
        memoryMiB: 64,
        pids: 32,
        timeoutSeconds: 20,
        maxOutputBytes: 1 << 20,
      },
      labels: { jobId: 1n, taskIndex: 1, workerId },
    });
    expect(result.status).to.equal("failed");
    expect(result.exitCode).to.equal(127);
    expect(result.logs.stderr).to.match(/ech: not found/);
  });

  it("records each task's exit code, escaped stderr tail and reason, outside the leaf", async () => {
    const ctx = workerContext();
    const results = await executeJob(ctx, "7", manifest(), [
      { groupId: 0, taskStart: 0, taskCount: SCRIPTS.length },
    ]);
    // The bundle reaches the store only at the reveal, as the daemon does it.
    expect(await store.has(results.resultsCid)).to.equal(false);
    await publishBundle(ctx, "7", results.resultsCid);
    const bundleDir = path.join(scratch, "exported");
    await store.exportTo(results.resultsCid, bundleDir);
    const bundle = await readBundle(bundleDir);
    const [ok, typo, painted] = bundle.tasks;

    expect(ok).to.include({ status: "succeeded", exitCode: 0, reason: "exited with code 0" });
    expect(ok).to.not.have.property("stderrTail");

    expect(typo).to.include({ status: "failed", exitCode: 127, reason: "exited with code 127" });
    expect(typo?.stderrTail).to.match(/ech: not found$/);
    expect(typo?.outputHash).to.equal(unsuccessfulTaskHash("failed"));

    expect(painted).to.include({ status: "failed", exitCode: 3 });
    expect(painted?.stderrTail).to.equal("\\x1b[31mred alert\\x1b[0m\\x1b]0;owned\\x07\\r");
    expect(controlCharacters(JSON.stringify(bundle))).to.deep.equal([]);

    // The leaves are [index, outputHash] only: the root is what the statuses alone give.
    expect(bundle.root).to.equal(
      resultRoot(bundle.tasks.map((t) => ({ index: t.index, outputHash: t.outputHash }))),
    );
    expect(results.roots).to.deep.equal([{ groupId: 0, root: bundle.root }]);
    const verification = await verifyBundle(bundleDir, bundle.root);
    expect(verification.ok).to.equal(true);
    expect(verification.tasks[1]?.outcome.exitCode).to.equal(127);
  });
});
