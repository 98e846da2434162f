// A job posted through the dApp on a chain where nothing but the providers sends transactions:
// no test code moves time, closes bidding or finalizes. Chain time follows the wall clock
// (the stack's interval mining), so the bidding and reveal deadlines pass on their own, and the
// requester's buttons in headless Chromium must follow: Cancel only before the bidding
// deadline, Close bidding once it has passed, Finalize once the reveal deadline has passed
// (one provider committed but never revealed), Withdraw while a refund is waiting, Claim for a
// provider with something to collect. The test code acts only as the three providers would:
// bids, real results bundles in the content store, commits and reveals. A second job is run by
// real worker processes (devnet/cluster.ts), which close bidding and finalize on
// their own once chain time allows; the page follows it to verified results.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import type { Page } from "playwright-core";
import { conun } from "../../app/src/lib/format.ts";
import { ONE } from "../../devnet/protocol.ts";
import { tails } from "../../devnet/workers.ts";
import { groupBundlePath, writeBundle } from "../../sdk/results/index.ts";
import { SCREENSHOT_DIR, startStackWorkers, useBrowserSuite } from "./stack.ts";

const IMAGE_ID = `sha256:${"cd".repeat(32)}`;
const BIDDING_SECONDS = 20;
const EXECUTION_SECONDS = 15;
const REVEAL_SECONDS = 10;
/** The label a button carries without its amounts ("Withdraw 3 CONUN" → "Withdraw"). */
const label = (text: string) => text.replace(/ [\d,.]+ CONUN.*$/, "").trim();

describe("dApp on a chain whose time moves by itself", function () {
  this.timeout(240_000);
  const suite = useBrowserSuite("moving-chain-failed.png");
  const connectedPage = (account: string) => suite.connectedPage(account);

  /** The job page's action buttons, by label. */
  async function buttons(page: Page): Promise<string[]> {
    const texts = await page.getByTestId("job-actions").getByRole("button").allTextContents();
    return texts.map(label).sort();
  }

  /** Waits until the job page offers exactly `expected` (nothing more, nothing less). */
  async function offered(page: Page, expected: string[], timeoutMs = 20_000): Promise<void> {
    const want = [...expected].sort();
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = await buttons(page).catch(() => []);
      if (JSON.stringify(seen) === JSON.stringify(want)) return;
      await page.waitForTimeout(100);
    }
    throw new Error(
      `the job page offers [${seen.join(", ")}], expected [${want.join(", ")}] (chain time ${await chainTime()})`,
    );
  }

  async function chainTime(): Promise<bigint> {
    const block = await suite.stack.connection.ethers.provider.getBlock("latest");
    return BigInt(block?.timestamp ?? 0);
  }

  async function blockNumber(): Promise<number> {
    return suite.stack.connection.ethers.provider.getBlockNumber();
  }

  /** Every block after `after` up to the latest one carries no transaction. */
  async function expectNoTransactionsSince(after: number): Promise<number> {
    const latest = await blockNumber();
    for (let n = after + 1; n <= latest; n++) {
      const block = await suite.stack.connection.ethers.provider.getBlock(n);
      expect(block?.transactions.length, `transactions in block ${n}`).to.equal(0);
    }
    return latest - after;
  }

  /** A provider's results bundle for its groups, stored in the content store, and its roots. */
  async function results(jobId: bigint, provider: HardhatEthersSigner) {
    const { market } = suite.stack.protocol;
    const assignments = await market.assignmentsOf(jobId, provider.address);
    const dir = path.join(suite.stack.work, `moving-${provider.address}`);
    const roots: string[] = [];
    for (const a of assignments) {
      const tasks = [];
      for (let i = Number(a.taskStart); i < Number(a.taskStart + a.taskCount); i++) {
        const out = path.join(suite.stack.work, `moving-out-${provider.address}-${i}`);
        await mkdir(out, { recursive: true });
        await writeFile(path.join(out, "result.txt"), `task ${i}: ${i * 7}\n`);
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
    const salt = suite.stack.connection.ethers.id(`moving-salt:${provider.address}`);
    const commitments = await Promise.all(
      assignments.map((a, i) =>
        market.commitmentFor(jobId, a.groupId, provider.address, roots[i] as string, salt),
      ),
    );
    return { roots, salt, commitments, cid: await suite.stack.store.addDirectory(dir) };
  }

  it("offers the requester exactly what can succeed as the deadlines pass on their own, through to verified results", async () => {
    const { protocol } = suite.stack;
    const { market } = protocol;
    const providers = protocol.providers.slice(0, 3) as HardhatEthersSigner[];
    const [silent, honest] = providers as [HardhatEthersSigner, HardhatEthersSigner];
    const requester = await connectedPage(protocol.requester.address);

    // Post through the form, with short windows.
    await requester.getByRole("link", { name: "Post a job" }).click();
    const imageCid = await suite.stack.store.addBytes(new TextEncoder().encode("moving image"));
    await requester.getByLabel("Name").fill("moving-chain");
    await requester.getByLabel("Image reference").fill(`ipfs://${imageCid}`);
    await requester.getByLabel("Image ID").fill(IMAGE_ID);
    await requester.getByLabel("Tasks").fill("2");
    await requester.getByLabel("Bidding window (s)").fill(String(BIDDING_SECONDS));
    await requester.getByLabel("Execution window (s)").fill(String(EXECUTION_SECONDS));
    await requester.getByLabel("Reveal window (s)").fill(String(REVEAL_SECONDS));
    await requester.getByLabel("Time limit per task (s)").fill("10");
    await requester.getByRole("button", { name: "Post job" }).click();
    await requester.waitForURL(/#\/jobs\/\d+$/, { timeout: 30_000 });
    const jobId = BigInt(requester.url().split("/").at(-1) as string);
    await requester.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();
    const { biddingDeadline } = await market.getJob(jobId);

    // Open, before the bidding deadline: the requester may cancel, nothing else.
    await offered(requester, ["Cancel job"]);
    expect((await chainTime()) < biddingDeadline, "checked before the bidding deadline").to.equal(
      true,
    );
    expect(await requester.getByTestId("action-timing").textContent()).to.contain(
      "Bidding can be closed from chain time",
    );

    // The providers bid, as providers do.
    for (const provider of providers) await market.connect(provider).placeBid(jobId, ONE / 2n, 2);
    const afterBids = await blockNumber();
    await requester.getByTestId("bids").locator("tr").nth(2).waitFor();

    // Nobody sends anything: the chain's own blocks carry its time past the deadline, and the
    // page replaces Cancel with Close bidding.
    await offered(requester, ["Close bidding"], (BIDDING_SECONDS + 30) * 1000);
    expect((await chainTime()) > biddingDeadline).to.equal(true);
    expect(
      await expectNoTransactionsSince(afterBids),
      "idle blocks mined since the bids",
    ).to.be.greaterThan(0);
    await requester.screenshot({ path: path.join(SCREENSHOT_DIR, "moving-close-bidding.png") });
    await requester.getByRole("button", { name: "Close bidding" }).click();
    await requester.getByTestId("job-status").filter({ hasText: "Awarded" }).waitFor();
    const awarded = await market.getJob(jobId);
    expect(awarded.status).to.equal(4n);

    // Awarded: no cancel, no close, no finalize yet; the unused escrow is withdrawable.
    const refund = await market.claimableBalance(protocol.requester.address);
    expect(refund).to.equal(3n * ONE, "6 task-replicas bid at half the max price");
    await offered(requester, ["Withdraw"]);
    expect(await requester.getByRole("button", { name: /^Withdraw / }).textContent()).to.equal(
      `Withdraw ${conun(refund)}`,
    );

    // All three commit; two reveal; the silent one never does.
    const bundles = new Map<string, Awaited<ReturnType<typeof results>>>();
    for (const provider of providers) {
      const bundle = await results(jobId, provider);
      bundles.set(provider.address, bundle);
      await market.connect(provider).commit(jobId, bundle.commitments);
    }
    for (const provider of providers.filter((p) => p !== silent)) {
      const { roots, salt, cid } = bundles.get(provider.address) as Awaited<
        ReturnType<typeof results>
      >;
      await market.connect(provider).reveal(jobId, roots, salt, cid);
    }
    const afterReveals = await blockNumber();
    await suite.stack.indexer.sync();
    await requester.getByText("2/3 revealed").waitFor();

    // A committed result is still unrevealed: finalizing waits for the reveal deadline.
    await offered(requester, ["Withdraw"]);
    expect(
      (await chainTime()) < awarded.revealDeadline,
      "checked before the reveal deadline",
    ).to.equal(true);
    expect(await requester.getByTestId("action-timing").textContent()).to.contain(
      "Finalizing is possible once every group's results are revealed",
    );

    // Again nobody sends anything until Finalize appears by itself.
    await offered(
      requester,
      ["Finalize", "Withdraw"],
      (EXECUTION_SECONDS + REVEAL_SECONDS + 30) * 1000,
    );
    expect((await chainTime()) > awarded.revealDeadline).to.equal(true);
    expect(await expectNoTransactionsSince(afterReveals)).to.be.greaterThan(0);
    await requester.getByRole("button", { name: "Finalize" }).click();
    await requester.getByTestId("job-status").filter({ hasText: "Finalized" }).waitFor();
    expect((await market.getJob(jobId)).status).to.equal(5n);

    // Finalized: only the (now larger) refund and the results are left for the requester.
    const finalRefund = await market.claimableBalance(protocol.requester.address);
    expect(finalRefund > refund, "the silent member's price is refunded too").to.equal(true);
    await requester
      .getByRole("button", { name: `Withdraw ${conun(finalRefund)}` })
      .waitFor({ timeout: 20_000 });
    await offered(requester, ["Download and verify results", "Withdraw"]);
    await requester.getByRole("button", { name: "Download and verify results" }).click();
    await requester
      .getByTestId("verify-summary")
      .filter({ hasText: "All results verified" })
      .waitFor({ timeout: 30_000 });
    for (const index of [0, 1]) {
      expect(await requester.getByTestId(`task-${index}`).textContent()).to.contain("verified");
    }
    await requester.screenshot({
      path: path.join(SCREENSHOT_DIR, "moving-verified.png"),
      fullPage: true,
    });
    await requester.getByRole("button", { name: /^Withdraw / }).click();
    await offered(requester, ["Download and verify results"]);
    expect(await market.claimableBalance(protocol.requester.address)).to.equal(0n);

    // The honest provider claims its payment in the dApp; the silent one has nothing to claim.
    const [payment, fee, stakeReleased] = await market.claimableFor(jobId, honest.address);
    expect(payment > 0n && stakeReleased > 0n).to.equal(true);
    const provider = await connectedPage(honest.address);
    await provider.goto(`${suite.stack.app.url}/#/jobs/${jobId}`);
    await offered(provider, ["Claim", "Download and verify results"]);
    expect(await provider.getByRole("button", { name: /^Claim / }).textContent()).to.equal(
      `Claim ${conun(payment - fee)} and ${conun(stakeReleased)} of stake`,
    );
    await provider.getByRole("button", { name: /^Claim / }).click();
    await offered(provider, ["Download and verify results"]);
    expect((await market.getBid(jobId, honest.address)).claimed).to.equal(true);

    const slashed = await connectedPage(silent.address);
    await slashed.goto(`${suite.stack.app.url}/#/jobs/${jobId}`);
    await slashed.getByTestId("job-status").filter({ hasText: "Finalized" }).waitFor();
    await offered(slashed, ["Download and verify results"]);
    expect((await market.getBid(jobId, silent.address)).claimed).to.equal(false);
  });
  it("a job posted through the dApp is run by real worker processes, which close bidding and finalize on time by themselves, and its results verify in the browser", async () => {
    const { protocol } = suite.stack;
    const { market } = protocol;
    // Three provider daemons as separate processes (accounts not registered by the stack),
    // each with CONUN to stake; they register, stake and bid by themselves.
    const { workers, image, imageRef, stop } = await startStackWorkers(
      suite.stack,
      [6, 7, 8],
      "worker",
    );
    try {
      const requester = await connectedPage(protocol.requester.address);
      await requester.getByRole("link", { name: "Post a job" }).click();
      await requester.getByLabel("Name").fill("workers-on-a-moving-chain");
      await requester.getByLabel("Image reference").fill(imageRef);
      await requester.getByLabel("Image ID").fill(image.id);
      await requester.getByLabel("Tasks").fill("2");
      await requester.getByLabel("Bidding window (s)").fill("25");
      await requester.getByLabel("Execution window (s)").fill("90");
      await requester.getByLabel("Reveal window (s)").fill("60");
      await requester.getByLabel("Time limit per task (s)").fill("20");
      await requester.getByRole("button", { name: "Post job" }).click();
      await requester.waitForURL(/#\/jobs\/\d+$/, { timeout: 30_000 });
      const jobId = BigInt(requester.url().split("/").at(-1) as string);
      await requester.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();
      const { biddingDeadline } = await market.getJob(jobId);
      await offered(requester, ["Cancel job"]);
      expect((await chainTime()) < biddingDeadline).to.equal(true);

      // The workers bid, close bidding once chain time passes the deadline, run the tasks in
      // Docker, commit, reveal and finalize; the page follows.
      await requester
        .getByTestId("job-status")
        .filter({ hasText: "Finalized" })
        .waitFor({ timeout: 200_000 })
        .catch((error: unknown) => {
          throw new Error(`the job did not finalize: ${String(error)}\n${tails(workers)}`);
        });
      const finalized = await market.getJob(jobId);
      expect(finalized.status).to.equal(5n);
      const withdrawable = await market.claimableBalance(protocol.requester.address);
      await offered(
        requester,
        withdrawable > 0n
          ? ["Download and verify results", "Withdraw"]
          : ["Download and verify results"],
      );
      await requester.getByRole("button", { name: "Download and verify results" }).click();
      await requester
        .getByTestId("verify-summary")
        .filter({ hasText: "All results verified" })
        .waitFor({ timeout: 30_000 });
      for (const index of [0, 1]) {
        expect(await requester.getByTestId(`task-${index}`).textContent()).to.contain("verified");
      }
      await requester.screenshot({
        path: path.join(SCREENSHOT_DIR, "moving-workers-verified.png"),
        fullPage: true,
      });
    } finally {
      await stop();
    }
  });
});
