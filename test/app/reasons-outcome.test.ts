// The job page says why, in headless Chromium against the real stack (test/app/stack.ts): why a
// job ended Unfilled (k above the registered providers, the bids' shortfall, amounts in CONUN),
// why a replica group had no quorum (each distinct root, who revealed it, each bundle CID), and,
// in the results view, how a task that failed ended — exit code and stderr tail as the provider
// reported them, escaped and marked unverified. The first two jobs are posted through the form
// and acted on as providers would (bids, real results bundles, commits, reveals); the chain's
// own blocks carry its time past the deadlines. The third is run by real worker processes in
// Docker, whose busybox script writes an ANSI escape to stderr and exits non-zero.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import type { Page } from "playwright-core";
import { ONE } from "../../devnet/protocol.ts";
import { tails } from "../../devnet/workers.ts";
import { groupBundlePath, writeBundle } from "../../sdk/results/index.ts";
import { controlCharacters } from "../helpers/text.ts";
import { SCREENSHOT_DIR, startStackWorkers, useBrowserSuite } from "./stack.ts";

const IMAGE_ID = `sha256:${"ef".repeat(32)}`;
const BIDDING_SECONDS = 12;
/** `text` matched literally inside a RegExp. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** How the job page shortens an address in a reason (sdk/chain/diagnose.ts). */
const short = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`;
/** The task's stderr: a red ANSI colour, the message, a reset; then a non-zero exit. */
const FAILING_SCRIPT =
  "printf 'reading /input/data.csv\\n\\033[31merror: data.csv: no such file\\033[0m\\n' >&2; exit 3";

describe("dApp#job explains Unfilled jobs, groups without quorum and failed tasks", function () {
  this.timeout(300_000);
  const suite = useBrowserSuite("reasons-failed.png");
  /** A page connected as the requester (a development account of the node). */
  const requesterPage = () => suite.connectedPage(suite.stack.protocol.requester.address);

  /** Fills the post form with `fields` (label → value) and posts; returns the job id. */
  async function postThroughForm(page: Page, fields: Record<string, string>): Promise<bigint> {
    await page.getByRole("link", { name: "Post a job" }).click();
    for (const [label, value] of Object.entries(fields)) {
      await page.getByLabel(label, { exact: true }).fill(value);
    }
    await page.getByRole("button", { name: "Post job" }).click();
    await page.waitForURL(/#\/jobs\/\d+$/, { timeout: 30_000 });
    const jobId = BigInt(page.url().split("/").at(-1) as string);
    await page.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();
    return jobId;
  }

  /** Waits (in real time: nobody moves the chain) for Close bidding, then clicks it. */
  async function closeBiddingWhenDue(page: Page, seconds: number): Promise<void> {
    await page
      .getByRole("button", { name: "Close bidding" })
      .waitFor({ timeout: (seconds + 30) * 1000 });
    await page.getByRole("button", { name: "Close bidding" }).click();
  }

  /** The visible lines of the Why card. */
  async function reasonLines(page: Page): Promise<string[]> {
    return page.getByTestId("job-reasons").locator("li").allInnerTexts();
  }

  it("says an Unfilled job needed more distinct providers than are registered, with the bids' numbers in CONUN", async () => {
    const { protocol } = suite.stack;
    const providers = protocol.providers.slice(0, 3) as HardhatEthersSigner[];
    const page = await requesterPage();
    const imageCid = await suite.stack.store.addBytes(new TextEncoder().encode("unfilled image"));
    // The stack registers 3 providers; k = 4 needs 4 distinct ones.
    const jobId = await postThroughForm(page, {
      Name: "too-many-replicas",
      "Image reference": `ipfs://${imageCid}`,
      "Image ID": IMAGE_ID,
      Tasks: "2",
      "Replicas per task (k)": "4",
      "Quorum (q)": "3",
      "Bidding window (s)": String(BIDDING_SECONDS),
    });
    expect((await protocol.market.getJob(jobId)).replication).to.equal(4n);
    // While Open, the page explains nothing yet: providers may still bid.
    expect(await page.getByTestId("job-reasons").count()).to.equal(0);
    for (const provider of providers) {
      await protocol.market.connect(provider).placeBid(jobId, ONE / 2n, 2);
    }
    await page.getByTestId("bids").locator("tr").nth(2).waitFor();

    await closeBiddingWhenDue(page, BIDDING_SECONDS);
    await page.getByTestId("job-status").filter({ hasText: "Unfilled" }).waitFor();
    expect((await protocol.market.getJob(jobId)).status).to.equal(3n);
    await page.getByRole("heading", { name: "Why it did not fill" }).waitFor();
    await page
      .getByTestId("job-reasons")
      .getByText(/^the bids cover/)
      .waitFor();
    const lines = await reasonLines(page);
    expect(lines[0]).to.equal("Why it did not fill (providers as indexed now):");
    expect(lines).to.include(
      "k=4 needs 4 distinct providers (no provider runs two replicas of a task), but only 3 providers are registered: lower replication.k to 3 or wait for more providers",
    );
    const short6 = lines.find((line) => line.startsWith("the bids cover")) ?? "";
    expect(short6).to.match(
      /^the bids cover 6 of the 8 task-replicas needed \(2 tasks × k=4\): 3 bids offered 6 \(.*\)$/,
    );
    for (const provider of providers) {
      expect(short6).to.contain(`${short(provider.address.toLowerCase())}: 2 at 0.5 CONUN`);
    }
    expect(lines.join("\n")).to.contain("whether 1.0 CONUN per task-replica is enough");
    // Amounts in CONUN, never wei (0.5 CONUN is 500000000000000000 wei).
    expect(lines.join("\n")).not.to.match(/\d{10,}/);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "why-unfilled.png"), fullPage: true });
  });

  it("lists each differing root of a group without quorum, who revealed it and each bundle CID", async () => {
    const { protocol, connection } = suite.stack;
    const { market } = protocol;
    const providers = protocol.providers.slice(0, 3) as HardhatEthersSigner[];
    const page = await requesterPage();
    const imageCid = await suite.stack.store.addBytes(new TextEncoder().encode("no-quorum image"));
    const jobId = await postThroughForm(page, {
      Name: "nondeterministic",
      "Image reference": `ipfs://${imageCid}`,
      "Image ID": IMAGE_ID,
      Tasks: "2",
      "Replicas per task (k)": "3",
      "Quorum (q)": "2",
      "Bidding window (s)": String(BIDDING_SECONDS),
      "Execution window (s)": "120",
      "Reveal window (s)": "120",
    });
    for (const provider of providers) await market.connect(provider).placeBid(jobId, ONE / 2n, 2);
    await page.getByTestId("bids").locator("tr").nth(2).waitFor();
    await closeBiddingWhenDue(page, BIDDING_SECONDS);
    await page.getByTestId("job-status").filter({ hasText: "Awarded" }).waitFor();

    // Each provider stores a real bundle whose outputs differ from the others' (as a job
    // with a timestamp in its output would), commits, then reveals its own root and CID.
    const revealed: { provider: string; groupId: number; root: string; cid: string }[] = [];
    const reveals: { provider: HardhatEthersSigner; roots: string[]; salt: string; cid: string }[] =
      [];
    for (const provider of providers) {
      const assignments = await market.assignmentsOf(jobId, provider.address);
      const dir = path.join(suite.stack.work, `noquorum-${provider.address}`);
      const roots: string[] = [];
      for (const a of assignments) {
        const tasks = [];
        for (let i = Number(a.taskStart); i < Number(a.taskStart + a.taskCount); i++) {
          const out = path.join(suite.stack.work, `noquorum-out-${provider.address}-${i}`);
          await mkdir(out, { recursive: true });
          await writeFile(path.join(out, "result.txt"), `task ${i} run by ${provider.address}\n`);
          tasks.push({ index: i, status: "succeeded" as const, outputDir: out });
        }
        const written = await writeBundle({
          bundleDir: groupBundlePath(dir, a.groupId, assignments.length),
          jobId,
          groupId: a.groupId,
          provider: provider.address,
          tasks,
        });
        roots.push(written.root);
      }
      const cid = await suite.stack.store.addDirectory(dir);
      const salt = connection.ethers.id(`noquorum-salt:${provider.address}`);
      const commitments = await Promise.all(
        assignments.map((a, i) =>
          market.commitmentFor(jobId, a.groupId, provider.address, roots[i] as string, salt),
        ),
      );
      await market.connect(provider).commit(jobId, commitments);
      // The last provider reveals a CID with a bidi override and a terminal escape in it (the
      // contract takes any string): the page shows them as escapes, never raw.
      const hostile = provider === providers.at(-1);
      reveals.push({ provider, roots, salt, cid: hostile ? `${cid}\u202e\x1b[2J` : cid });
      assignments.forEach((a, i) => {
        revealed.push({
          provider: provider.address.toLowerCase(),
          groupId: Number(a.groupId),
          root: roots[i] as string,
          cid: hostile ? `${cid}\\u202e\\x1b[2J` : cid,
        });
      });
    }
    for (const { provider, roots, salt, cid } of reveals) {
      await market.connect(provider).reveal(jobId, roots, salt, cid);
    }
    await page.getByTestId("job-phase").filter({ hasText: "Revealed" }).waitFor();
    await page.getByRole("button", { name: "Finalize" }).click();
    await page.getByTestId("job-status").filter({ hasText: "Finalized" }).waitFor();

    const groupCount = Number((await market.getJob(jobId)).groupCount);
    expect(groupCount).to.be.greaterThan(0);
    await page.getByRole("heading", { name: "Why no quorum" }).waitFor();
    const lines = await reasonLines(page);
    for (let groupId = 0; groupId < groupCount; groupId++) {
      const group = await page
        .getByRole("region", { name: `Group ${groupId}`, exact: true })
        .locator("h3")
        .textContent();
      expect(group).to.contain("NoQuorum");
      const mine = revealed.filter((r) => r.groupId === groupId);
      expect(mine.length, `members of group ${groupId}`).to.equal(3);
      const head = lines.find((line) => line.startsWith(`group ${groupId} (tasks `));
      expect(head, `the head line of group ${groupId}`).to.match(
        /had no quorum: it needs 2 of 3 members to reveal the same result root, the most that agreed was 1$/,
      );
      for (const r of mine) {
        expect(
          lines.some((line) =>
            new RegExp(
              `^root [1-3] ${r.root} revealed by ${r.provider} \\(bundle ${escapeRegExp(r.cid)}\\)$`,
            ).test(line),
          ),
          `a line for ${r.provider}'s root ${r.root} and bundle ${r.cid} in\n${lines.join("\n")}`,
        ).to.equal(true);
      }
    }
    expect(controlCharacters(lines.join("\n"), { multiline: true })).to.deep.equal([]);
    expect(new Set(revealed.map((r) => r.root)).size).to.equal(revealed.length);
    expect(lines.join("\n")).to.contain(
      `the outputs differ between replicas: the job is probably not deterministic (timestamps, randomness, thread order) — fetch the 3 bundles and compare them`,
    );
    // Nothing agreed, so there is nothing to download and verify.
    expect(
      await page.getByRole("button", { name: "Download and verify results" }).count(),
    ).to.equal(0);
    await page.screenshot({
      path: path.join(SCREENSHOT_DIR, "why-no-quorum.png"),
      fullPage: true,
    });
  });

  it("shows a failed task's exit code and escaped stderr tail from real workers, marked unverified", async () => {
    const { market } = suite.stack.protocol;
    // Three provider daemons as separate processes (accounts the stack did not register);
    // they register, stake, bid, run the task in Docker, commit, reveal and finalize.
    const { workers, image, imageRef, stop } = await startStackWorkers(
      suite.stack,
      [6, 7, 8],
      "failing",
    );
    try {
      const page = await requesterPage();
      const jobId = await postThroughForm(page, {
        Name: "a-script-that-fails",
        "Image reference": imageRef,
        "Image ID": image.id,
        Command: `/bin/sh -c "${FAILING_SCRIPT}"`,
        Tasks: "2",
        "Replicas per task (k)": "3",
        "Quorum (q)": "2",
        "Bidding window (s)": "25",
        "Execution window (s)": "90",
        "Reveal window (s)": "60",
        "Time limit per task (s)": "20",
      });
      await page
        .getByTestId("job-status")
        .filter({ hasText: "Finalized" })
        .waitFor({ timeout: 200_000 })
        .catch((error: unknown) => {
          throw new Error(`the job did not finalize: ${String(error)}\n${tails(workers)}`);
        });
      expect((await market.getJob(jobId)).status).to.equal(5n);
      // The replicas agree on the failure (the status is in the leaf, stderr is not).
      expect(await page.getByTestId("job-reasons").count()).to.equal(0);

      await page.getByRole("button", { name: "Download and verify results" }).click();
      await page.getByTestId("verify-summary").waitFor({ timeout: 30_000 });
      // Verified is not succeeded: the summary says the failed tasks need a look.
      expect(await page.getByTestId("verify-summary").textContent()).to.contain(
        "2 tasks need a look",
      );
      for (const index of [0, 1]) {
        const task = page.getByTestId(`task-${index}`);
        const shown = (await task.textContent()) ?? "";
        expect(shown).to.match(new RegExp(`^Task ${index}: verified \\(failed\\) it ended failed`));
        const outcome = page.getByTestId(`task-${index}-outcome`);
        // A <pre>: its text content is what is shown, line for line.
        expect(await outcome.isVisible()).to.equal(true);
        const text = (await outcome.textContent()) ?? "";
        const lines = text.split("\n");
        expect(lines[0]).to.match(
          /^exit code 3 \(reported by the provider of bundle bafy\S+…\S+, not verified\)$/,
        );
        expect(lines.slice(1)).to.deep.equal([
          "stderr, last lines:",
          "| reading /input/data.csv",
          "| \\x1b[31merror: data.csv: no such file\\x1b[0m",
        ]);
        // The escape is shown as the four characters \x1b, never as a raw ESC, anywhere in
        // the task's entry.
        expect(controlCharacters(text, { multiline: true })).to.deep.equal([]);
        expect(controlCharacters(shown, { multiline: true })).to.deep.equal([]);
      }
      await page.screenshot({
        path: path.join(SCREENSHOT_DIR, "results-failed-task.png"),
        fullPage: true,
      });
    } finally {
      await stop();
    }
  });
});
