// A task's outcome reaches the requester: three providers run a real job in real Docker
// containers through the worker's executeJob, commit and reveal on a real chain, and
// conun:results (fetchResults, then the lines the task prints) shows the failed task's exit
// code and stderr, the task that "succeeded" with an empty output, and nothing raw from a
// task's or a bundle's text — including a crafted bundle whose entry names carry escapes.
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { keccak256 } from "ethers";
import { busyboxImage, type TestImage } from "../../devnet/images.ts";
import { registerProviders } from "../../devnet/protocol.ts";
import { fetchResults, formatResultsReport } from "../../requester/results.ts";
import { silentLogger } from "../../sdk/logger.ts";
import { type Manifest, parseManifest } from "../../sdk/manifest/index.ts";
import { Semaphore, type WorkerContext } from "../../worker/src/context.ts";
import { connectDocker, resolveOutputBound } from "../../worker/src/execution/index.ts";
import { executeJob, publishBundle } from "../../worker/src/jobs/execute.ts";
import { createMetrics } from "../../worker/src/metrics/metrics.ts";
import { controlCharacters } from "../helpers/text.ts";
import {
  commitRevealFinalize,
  freshRequesterFixture,
  type ProviderReveal,
  postAndAward,
  type RequesterFixture,
  sourceManifest,
  storeDuplicatedEntryDirectory,
} from "./fixtures.ts";

/** How this machine bounds task outputs, as a worker started here resolves it. */
const outputBound = await resolveOutputBound("auto", tmpdir());

/** Any valid CID: the image is already present under its ID, so no worker fetches it. */
const IMAGE_CID = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe";
/** Task 0 has a typo (the shell exits 127); task 1 paints its stderr and writes an empty file. */
const SCRIPTS = [
  "ech hi > /output/result.txt",
  "printf '\\033[31mwarning: no data\\033[0m\\033]0;owned\\007\\n' >&2; : > /output/result.txt",
];

const docker = connectDocker();

describe("conun:results shows how tasks ended", function () {
  this.timeout(180_000);
  let image: TestImage;
  let f: RequesterFixture;
  let providers: HardhatEthersSigner[];

  before(async function () {
    this.timeout(60_000);
    image = await busyboxImage();
  });
  beforeEach(async () => {
    f = await freshRequesterFixture();
    providers = f.p.providers.slice(0, 3);
    await registerProviders(f.p, providers);
  });
  afterEach(() => f.cleanup());

  /** What executeJob uses of a worker: real Docker, the shared store, this provider. */
  function workerOf(provider: HardhatEthersSigner): WorkerContext {
    return {
      config: { dataDir: path.join(f.dir, `worker-${provider.address}`) },
      log: silentLogger,
      address: provider.address,
      docker,
      store: f.store,
      metrics: createMetrics(),
      slots: new Semaphore(2),
      outputBound,
      shutdown: new AbortController().signal,
    } as unknown as WorkerContext;
  }

  /**
   * Posts the two-task job, has each provider run it, and finalizes it. With `hostileCid`, the
   * first two providers reveal their honest root with that CID instead of their bundle, and the
   * third commits a wrong root: the winners' only bundles are the hostile one.
   */
  async function runJob(hostileCid?: string) {
    const source = sourceManifest({
      image: { ref: `ipfs://${IMAGE_CID}`, id: image.id },
      command: ["/bin/sh", "-c"],
      tasks: { count: SCRIPTS.length, args: SCRIPTS.map((script) => [script]) },
      resources: { cpuMillicores: 500, memoryMiB: 64, timeoutSeconds: 30 },
    });
    const { jobId, manifestText } = await postAndAward(f, providers, { manifest: source });
    const manifest: Manifest = parseManifest(manifestText);
    const reveals: ProviderReveal[] = [];
    for (const [i, provider] of providers.entries()) {
      const assignments = await f.p.market.assignmentsOf(jobId, provider.address);
      const memberships = assignments.map((a) => ({
        groupId: Number(a.groupId),
        taskStart: Number(a.taskStart),
        taskCount: Number(a.taskCount),
      }));
      const worker = workerOf(provider);
      const { roots, resultsCid } = await executeJob(
        worker,
        jobId.toString(),
        manifest,
        memberships,
      );
      // Published as the daemon does just before its reveal.
      await publishBundle(worker, jobId.toString(), resultsCid);
      const root =
        hostileCid !== undefined && i === 2
          ? keccak256(roots[0]?.root as string)
          : (roots[0]?.root as string);
      reveals.push({
        provider,
        roots: [root],
        cid: hostileCid !== undefined && i < 2 ? hostileCid : resultsCid,
      });
    }
    await commitRevealFinalize(f, jobId, reveals);
    return jobId;
  }

  it("prints the exit code and escaped stderr of a failed task, and flags an empty output", async () => {
    const jobId = await runJob();
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, `results-${randomUUID()}`));
    const [typo, empty] = report.tasks;
    expect(typo).to.include({ state: "failed", status: "failed" });
    expect(typo?.outcome?.exitCode).to.equal(127);
    expect(typo?.outcome?.stderrTail).to.match(/ech: not found$/);
    expect(empty).to.include({ state: "verified", attention: "its output files are all empty" });
    expect(empty?.outcome?.exitCode).to.equal(0);

    const lines = formatResultsReport(report);
    const provider = typo?.provider as string;
    expect(lines[0]).to.equal(`job ${jobId}: 1 failed, 1 verified → ${report.outDir}`);
    expect(lines.slice(1)).to.deep.equal([
      "  task 0: failed — the task ended failed on every agreeing provider",
      `    exit code 127 (reported by ${provider}, not verified)`,
      "    stderr, last lines:",
      "    | /bin/sh: ech: not found",
      "  task 1: verified, but its output files are all empty",
      `    exit code 0 (reported by ${empty?.provider}, not verified)`,
      "    stderr, last lines:",
      "    | \\x1b[31mwarning: no data\\x1b[0m\\x1b]0;owned\\x07",
    ]);
    for (const line of lines) expect(controlCharacters(line)).to.deep.equal([]);
  });

  it("prints escaped the error of a crafted bundle whose entry names carry escapes (issue 14)", async () => {
    // The two winners reveal the honest root with a hostile directory: one entry name, twice.
    const hostileName = "\x1b[31mX\x1b]0;owned\x07\u009b2J";
    const hostile = await storeDuplicatedEntryDirectory(path.join(f.dir, "store"), hostileName);

    const jobId = await runJob(hostile);
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, `results-${randomUUID()}`));
    expect(report.tasks.map((t) => t.state)).to.deep.equal(["unverified", "unverified"]);
    expect(report.tasks[0]?.reason).to.contain(`duplicate entry ${hostileName}`);
    const lines = formatResultsReport(report);
    expect(lines).to.have.length(3);
    for (const line of lines.slice(1)) {
      expect(line).to.match(/^ {2}task \d: unverified — /);
      expect(line).to.contain("duplicate entry \\x1b[31mX\\x1b]0;owned\\x07\\x9b2J");
    }
    for (const line of lines) expect(controlCharacters(line)).to.deep.equal([]);
  });
});
