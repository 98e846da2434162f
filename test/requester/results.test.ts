import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { registerProviders } from "../../devnet/protocol.ts";
import { postJob } from "../../requester/post.ts";
import { fetchResults } from "../../requester/results.ts";
import type { ConunError } from "../../sdk/errors.ts";
import { writeBundle } from "../../sdk/results/index.ts";
import {
  commitRevealFinalize,
  freshRequesterFixture,
  type ProviderReveal,
  postAndAward,
  type RequesterFixture,
  sourceManifest,
} from "./fixtures.ts";

/** What one provider reports: the text each task "computed", and whether its bundle lies. */
interface Report {
  text: string;
  /** Task 1 fails (no output) instead of succeeding. */
  failTask1?: boolean;
  /** Rewrites task 0's file after the bundle was indexed: the claim no longer matches. */
  tamper?: boolean;
}

describe("fetchResults", () => {
  let f: RequesterFixture;
  let providers: HardhatEthersSigner[];

  beforeEach(async () => {
    f = await freshRequesterFixture();
    providers = f.p.providers.slice(0, 3);
    await registerProviders(f.p, providers);
  });
  afterEach(() => f.cleanup());

  /** Posts a 2-task job, lets the three providers run it with `reports`, and finalizes it. */
  async function runJob(reports: Report[]): Promise<bigint> {
    const { jobId } = await postAndAward(f, providers);
    const work = await mkdtemp(path.join(f.dir, "work-"));
    const reveals: ProviderReveal[] = [];
    for (const [i, provider] of providers.entries()) {
      const report = reports[i] ?? { text: "honest" };
      const [assignment] = await f.p.market.assignmentsOf(jobId, provider.address);
      if (assignment === undefined) throw new Error("provider won nothing");
      const tasks = [];
      for (let t = 0; t < 2; t++) {
        if (t === 1 && report.failTask1) {
          tasks.push({ index: t, status: "failed" as const });
          continue;
        }
        const out = path.join(work, `${i}-out-${t}`);
        await mkdir(out);
        await writeFile(path.join(out, "result.txt"), `${report.text} task ${t}\n`);
        tasks.push({ index: t, status: "succeeded" as const, outputDir: out });
      }
      const bundleDir = path.join(work, `${i}-bundle`);
      const { root } = await writeBundle({
        bundleDir,
        jobId,
        groupId: assignment.groupId,
        provider: provider.address,
        tasks,
      });
      if (report.tamper) await writeFile(path.join(bundleDir, "tasks/0/result.txt"), "forged\n");
      const cid = await f.store.addDirectory(bundleDir);
      reveals.push({ provider, roots: [root], cid });
    }
    await commitRevealFinalize(f, jobId, reveals);
    return jobId;
  }

  it("writes every task's output once verified against the winning root", async () => {
    const jobId = await runJob([{ text: "honest" }, { text: "honest" }, { text: "cheat" }]);
    const out = path.join(f.dir, "results");
    const report = await fetchResults(f.ctx, jobId, out);
    expect(report.complete).to.equal(true);
    expect(report.tasks.map((t) => [t.index, t.state])).to.deep.equal([
      [0, "verified"],
      [1, "verified"],
    ]);
    expect(await readFile(path.join(out, "tasks/1/result.txt"), "utf8")).to.equal(
      "honest task 1\n",
    );
    const written = JSON.parse(await readFile(path.join(out, "report.json"), "utf8"));
    expect(written.complete).to.equal(true);
  });

  it("refuses a tampered bundle and takes the outputs from another winner", async () => {
    const jobId = await runJob([
      { text: "honest", tamper: true },
      { text: "honest" },
      { text: "cheat" },
    ]);
    const out = path.join(f.dir, "results");
    const report = await fetchResults(f.ctx, jobId, out);
    const first = providers[0]?.address;
    expect(report.bundles.find((b) => b.provider === first)?.ok).to.equal(false);
    expect(report.complete).to.equal(true);
    // Task 0 was forged in the first bundle, so it comes from the second winner's.
    expect(report.tasks.find((t) => t.index === 0)?.provider).to.equal(providers[1]?.address);
    expect(await readFile(path.join(out, "tasks/0/result.txt"), "utf8")).to.equal(
      "honest task 0\n",
    );
  });

  it("reports tasks that no winning bundle proves, and writes none of their files", async () => {
    const jobId = await runJob([
      { text: "honest", tamper: true },
      { text: "honest", tamper: true },
      { text: "cheat" },
    ]);
    const out = path.join(f.dir, "results");
    const report = await fetchResults(f.ctx, jobId, out);
    expect(report.complete).to.equal(false);
    const task0 = report.tasks.find((t) => t.index === 0);
    expect(task0?.state).to.equal("unverified");
    expect(task0?.reason).to.contain("output-mismatch");
    // Task 1 was not tampered with: it still verifies.
    expect(report.tasks.find((t) => t.index === 1)?.state).to.equal("verified");
    await readFile(path.join(out, "tasks/0/result.txt")).then(
      () => expect.fail("a forged output was written"),
      (error: NodeJS.ErrnoException) => expect(error.code).to.equal("ENOENT"),
    );
  });

  it("reports a task that failed the same way on every agreeing provider as failed", async () => {
    const jobId = await runJob([
      { text: "honest", failTask1: true },
      { text: "honest", failTask1: true },
      { text: "cheat" },
    ]);
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, "results"));
    expect(report.complete).to.equal(false);
    expect(report.tasks.map((t) => [t.state, t.status])).to.deep.equal([
      ["verified", "succeeded"],
      ["failed", "failed"],
    ]);
    expect(report.tasks[1]?.reason).to.contain("ended failed");
    expect(report.tasks[1]?.dir).to.equal(undefined);
  });

  it("says plainly which tasks had no quorum", async () => {
    const jobId = await runJob([{ text: "a" }, { text: "b" }, { text: "c" }]);
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, "results"));
    expect(report.complete).to.equal(false);
    expect(report.tasks.map((t) => t.state)).to.deep.equal(["no-quorum", "no-quorum"]);
    expect(report.tasks[0]?.reason).to.contain("refunded");
  });

  it("refuses a job that is not finalized yet, saying how to follow it", async () => {
    const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    try {
      await fetchResults(f.ctx, jobId, path.join(f.dir, "results"));
      expect.fail("expected an error");
    } catch (error) {
      expect((error as ConunError).code).to.equal("wrong-status");
      expect((error as Error).message).to.contain("conun:watch");
    }
  });
});
