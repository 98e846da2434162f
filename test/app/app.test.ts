import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { Page } from "playwright-core";
import { ONE, passTime } from "../../devnet/protocol.ts";
import { cidOf } from "../../sdk/content/index.ts";
import { parseManifest } from "../../sdk/manifest/index.ts";
import { groupBundlePath, writeBundle } from "../../sdk/results/index.ts";
import {
  type AppStack,
  injectedWalletScript,
  SCREENSHOT_DIR,
  startAppStack,
  watchErrors,
} from "./stack.ts";

const IMAGE_ID = `sha256:${"ab".repeat(32)}`;
const INPUT = "0 1 2 3\n";

describe("dApp in Chromium", function () {
  this.timeout(120_000);
  let stack: AppStack;
  let page: Page;
  let errors: string[];
  let jobId: bigint;

  before(async () => {
    stack = await startAppStack();
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    await stack?.close();
  });

  async function openPage(
    options: { viewport?: { width: number; height: number }; wallet?: string } = {},
  ) {
    const context = await stack.browser.newContext({
      viewport: options.viewport ?? { width: 1200, height: 900 },
    });
    if (options.wallet !== undefined) await context.addInitScript(options.wallet);
    context.setDefaultTimeout(15_000);
    const opened = await context.newPage();
    errors = watchErrors(opened);
    return opened;
  }

  async function shot(name: string) {
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page !== undefined) {
      const name = (this.currentTest.title ?? "failed").replace(/[^a-z0-9]+/gi, "-");
      await shot(`failed-${name}`).catch(() => undefined);
      console.log(
        `page text at failure:\n${await page
          .locator("body")
          .textContent()
          .catch(() => "?")}`,
      );
    }
    expect(errors, "JavaScript errors in the page").to.deep.equal([]);
    await page?.context().close();
  });

  /** Moves the chain along and waits until the subgraph has indexed it. */
  async function synced() {
    await stack.indexer.sync();
  }

  describe("dApp#connect", () => {
    it("refuses a wallet on another chain with a message naming both chains", async () => {
      page = await openPage({
        wallet: injectedWalletScript({
          rpcUrl: stack.rpcUrl,
          chainId: 1,
          account: stack.protocol.requester.address,
        }),
      });
      await page.goto(`${stack.app.url}/#/account`);
      await page.getByRole("button", { name: "Connect browser wallet" }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      expect(await alert.textContent()).to.contain(
        "Your wallet is on chain 1, but this app works with chain 31337",
      );
      expect(
        await page.getByRole("button", { name: "Switch wallet to chain 31337" }).isVisible(),
      ).to.equal(true);
      expect(await page.getByTestId("session").textContent()).to.contain("not connected");
      await shot("wrong-network");
    });

    it("connects a development account and shows its balance and allowance", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/account`);
      await page
        .getByLabel("Development account (local chain only)")
        .selectOption(stack.protocol.requester.address);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByTestId("connected-address").waitFor();
      expect(await page.getByTestId("connected-address").textContent()).to.equal(
        stack.protocol.requester.address,
      );
      await page.getByTestId("balance").filter({ hasText: "1,000,000 CONUN" }).waitFor();
      await shot("account");
    });
  });

  describe("dApp#keyboard", () => {
    it("can be used from the keyboard: skip link, then the navigation", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/`);
      await page.getByRole("heading", { name: "Network overview" }).waitFor();
      await page.keyboard.press("Tab");
      expect(await page.locator(":focus").textContent()).to.equal("Skip to content");
      await page.keyboard.press("Enter");
      expect(await page.locator(":focus").getAttribute("id")).to.equal("main");
      await page.getByRole("link", { name: "Providers" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Provider leaderboard" }).waitFor();
      expect(
        await page.getByRole("link", { name: "Providers" }).getAttribute("aria-current"),
      ).to.equal("page");
    });
  });

  describe("dApp#post", () => {
    it("says so plainly when the user rejects the permit in the wallet, and posts nothing", async () => {
      page = await openPage({
        wallet: injectedWalletScript({
          rpcUrl: stack.rpcUrl,
          chainId: 31337,
          account: stack.protocol.requester.address,
          reject: ["eth_signTypedData_v4", "eth_sendTransaction"],
        }),
      });
      await page.goto(`${stack.app.url}/#/account`);
      await page.getByRole("button", { name: "Connect browser wallet" }).click();
      await page.getByTestId("connected-address").waitFor();
      await page.getByRole("link", { name: "Post a job" }).click();
      await page
        .getByLabel("Image reference")
        .fill(`ipfs://${await cidOf(new TextEncoder().encode("image"))}`);
      await page.getByLabel("Image ID").fill(IMAGE_ID);
      await page.getByRole("button", { name: "Post job" }).click();
      const alert = page.getByRole("alert").filter({ hasText: "rejected" });
      await alert.waitFor();
      expect(await alert.textContent()).to.equal(
        "You rejected the request in your wallet. Nothing was sent.",
      );
      expect(await stack.protocol.market.jobCount()).to.equal(0n);
    });

    it("posts a job from the form, uploading its input through the gateway and funding it with a permit", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/account`);
      await page
        .getByLabel("Development account (local chain only)")
        .selectOption(stack.protocol.requester.address);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByTestId("connected-address").waitFor();
      await page.getByRole("link", { name: "Post a job" }).click();
      const imageCid = await stack.store.addBytes(new TextEncoder().encode("image archive"));
      await page.getByLabel("Name").fill("browser-job");
      await page.getByLabel("Image reference").fill(`ipfs://${imageCid}`);
      await page.getByLabel("Image ID").fill(IMAGE_ID);
      await page.getByLabel("Tasks").fill("2");
      await page.getByLabel("Input files (uploaded through the content gateway)").setInputFiles({
        name: "numbers.txt",
        mimeType: "text/plain",
        buffer: Buffer.from(INPUT),
      });
      await shot("post");
      await page.getByRole("button", { name: "Post job" }).click();
      await page.waitForURL(/#\/jobs\/1$/, { timeout: 30_000 });
      jobId = 1n;
      await page.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();

      const onChain = await stack.protocol.market.getJob(jobId);
      expect(onChain.requester).to.equal(stack.protocol.requester.address);
      expect(onChain.taskCount).to.equal(2n);
      expect(onChain.escrow).to.equal(2n * 3n * ONE);
      const job = await stack.indexer.query<{ job: { manifestCid: string } }>(
        `{ job(id: "1") { manifestCid } }`,
      );
      const manifest = parseManifest(await stack.store.getBytes(job.job.manifestCid));
      expect(manifest.name).to.equal("browser-job");
      expect(manifest.inputs).to.deep.equal([
        { path: "numbers.txt", cid: await cidOf(new TextEncoder().encode(INPUT)) },
      ]);
      expect(await stack.store.has(manifest.inputs[0]?.cid as string)).to.equal(true);
    });
  });

  describe("dApp#job", () => {
    it("follows the job live through bids, award, commits, reveals and finalization", async () => {
      const { protocol, connection } = stack;
      const providers = protocol.providers.slice(0, 3);
      page = await openPage({ viewport: { width: 390, height: 844 } });
      await page.goto(`${stack.app.url}/#/account`);
      await page
        .getByLabel("Development account (local chain only)")
        .selectOption(protocol.requester.address);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByTestId("connected-address").waitFor();
      await page.goto(`${stack.app.url}/#/jobs/${jobId}`);
      await page.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();

      for (const provider of providers) {
        await protocol.market.connect(provider).placeBid(jobId, ONE / 2n, 2);
      }
      await synced();
      await page.getByTestId("bids").locator("tr").nth(2).waitFor();
      expect(await page.getByTestId("bids").locator("tr").count()).to.equal(3);

      await passTime(connection, (await protocol.market.getJob(jobId)).biddingDeadline);
      await page.getByRole("button", { name: "Close bidding" }).click();
      await page.getByTestId("job-status").filter({ hasText: "Awarded" }).waitFor();
      await shot("job-awarded-phone");

      // Each provider writes a real results bundle for its groups and commits/reveals its root.
      type Reveal = { roots: string[]; salt: string; cid: string };
      const reveals = new Map<string, Reveal>();
      const job = await protocol.market.getJob(jobId);
      for (const provider of providers) {
        const assignments = await protocol.market.assignmentsOf(jobId, provider.address);
        const dir = path.join(stack.work, `bundle-${provider.address}`);
        const roots: string[] = [];
        for (const a of assignments) {
          const bundleDir = groupBundlePath(dir, a.groupId, assignments.length);
          const tasks = [];
          for (let i = Number(a.taskStart); i < Number(a.taskStart + a.taskCount); i++) {
            const out = path.join(stack.work, `out-${provider.address}-${i}`);
            await mkdir(out, { recursive: true });
            await writeFile(path.join(out, "result.txt"), `task ${i}: ${i * i}\n`);
            tasks.push({ index: i, status: "succeeded" as const, outputDir: out });
          }
          const results = await writeBundle({
            bundleDir,
            jobId,
            groupId: a.groupId,
            provider: provider.address,
            tasks,
          });
          roots.push(results.root);
        }
        const cid = await stack.store.addDirectory(dir);
        const salt = connection.ethers.id(`salt:${provider.address}`);
        const commitments = await Promise.all(
          assignments.map((a, i) =>
            protocol.market.commitmentFor(
              jobId,
              a.groupId,
              provider.address,
              roots[i] as string,
              salt,
            ),
          ),
        );
        await protocol.market.connect(provider).commit(jobId, commitments);
        reveals.set(provider.address, { roots, salt, cid });
      }
      await synced();
      await page.getByTestId("job-phase").filter({ hasText: "Committed" }).waitFor();
      for (const provider of providers) {
        const { roots, salt, cid } = reveals.get(provider.address) as Reveal;
        await protocol.market.connect(provider).reveal(jobId, roots, salt, cid);
      }
      await synced();
      await page.getByTestId("job-phase").filter({ hasText: "Revealed" }).waitFor();
      expect(Number(job.groupCount)).to.be.greaterThan(0);

      await page.getByRole("button", { name: "Finalize" }).click();
      await page.getByTestId("job-status").filter({ hasText: "Finalized" }).waitFor();
      expect((await protocol.market.getJob(jobId)).status).to.equal(5n);
      // Payments are pulled: each winner claims its 2 tasks × 0.5 CONUN.
      for (const provider of providers) await protocol.market.connect(provider).claim(jobId);
      await synced();
      await page.getByRole("cell", { name: "Payment" }).first().waitFor();
      await shot("job-finalized-phone");
    });

    it("downloads the results and verifies every task against the on-chain root", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/jobs/${jobId}`);
      await page.getByRole("button", { name: "Download and verify results" }).click();
      await page
        .getByTestId("verify-summary")
        .filter({ hasText: "All results verified" })
        .waitFor();
      for (const index of [0, 1]) {
        const task = page.getByTestId(`task-${index}`);
        expect(await task.textContent()).to.contain("verified");
        const link = task.getByRole("link", { name: /result\.txt/ });
        const href = await link.getAttribute("href");
        const res = await fetch(href as string);
        expect(await res.text()).to.equal(`task ${index}: ${index * index}\n`);
      }
      await shot("job-results");
    });

    it("lets the requester withdraw the refund of unused escrow", async () => {
      const { protocol } = stack;
      const claimable = await protocol.market.claimableBalance(protocol.requester.address);
      expect(claimable > 0n, "bids below the max price leave escrow to refund").to.equal(true);
      const before = await protocol.token.balanceOf(protocol.requester.address);
      page = await openPage();
      await page.goto(`${stack.app.url}/#/account`);
      await page
        .getByLabel("Development account (local chain only)")
        .selectOption(protocol.requester.address);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByRole("button", { name: /^Withdraw / }).click();
      await page
        .getByTestId("claimable")
        .filter({ hasText: /^0 CONUN$/ })
        .waitFor();
      expect(await protocol.token.balanceOf(protocol.requester.address)).to.equal(
        before + claimable,
      );
    });
  });

  describe("dApp#auditor", () => {
    it("shows the finished job in the network overview with its charts", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/`);
      await page.getByTestId("job-count").filter({ hasText: "1" }).waitFor();
      expect(await page.getByTestId("volume-paid").textContent()).to.equal("3 CONUN");
      expect(
        await page
          .getByRole("img", { name: /^Jobs by status\. Open: 0, Running: 0, Finalized: 1/ })
          .count(),
      ).to.equal(1);
      expect(
        await page.getByRole("img", { name: /^Jobs by status\. .*Finalized: 1/ }).count(),
      ).to.equal(1);
      expect(await page.getByTestId("jobs").getByRole("link", { name: "Job 1" }).count()).to.equal(
        1,
      );
      await shot("overview");
    });

    it("ranks the providers with their success rates and opens a provider's record", async () => {
      page = await openPage();
      await page.goto(`${stack.app.url}/#/providers`);
      const rows = page.getByTestId("providers").locator("tr");
      await rows.nth(2).waitFor();
      expect(await rows.count()).to.equal(3);
      expect(await rows.first().textContent()).to.contain("100.0%");
      await shot("providers");
      await rows.first().getByRole("link").click();
      await page.getByTestId("success-rate").filter({ hasText: "100.0%" }).waitFor();
      expect(await page.getByTestId("slash-count").textContent()).to.equal("0 (0 CONUN)");
      await shot("provider");
    });
  });

  describe("dApp#post with a manifest file", () => {
    it("posts a dropped YAML manifest with its input, then cancels the job before bidding closes", async () => {
      const { protocol } = stack;
      page = await openPage({ viewport: { width: 390, height: 844 } });
      await page.goto(`${stack.app.url}/#/account`);
      await page
        .getByLabel("Development account (local chain only)")
        .selectOption(protocol.requester.address);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByTestId("connected-address").waitFor();
      await page.getByRole("link", { name: "Post a job" }).click();
      const imageCid = await stack.store.addBytes(new TextEncoder().encode("another image"));
      const yaml = [
        "version: 1",
        "name: from-a-file",
        "image:",
        `  ref: ipfs://${imageCid}`,
        `  id: "${IMAGE_ID}"`,
        "command: [/bin/true]",
        "inputs:",
        "  - source: data/params.json",
        "    path: params.json",
        "tasks: { count: 1 }",
        "resources: { cpuMillicores: 100, memoryMiB: 16, timeoutSeconds: 10 }",
        "replication: { k: 1, quorum: 1 }",
        'price: { maxPerTaskReplica: "0.25", stakePerTaskReplica: "1" }',
        "windows: { biddingSeconds: 600, executionSeconds: 60, revealSeconds: 60 }",
      ].join("\n");
      await page.getByLabel("Drop a manifest (JSON or YAML) here, or choose one").setInputFiles({
        name: "job.yaml",
        mimeType: "application/yaml",
        buffer: Buffer.from(yaml),
      });
      await page.getByText("Using job.yaml instead of the form.").waitFor();
      await page.getByLabel("Input files (uploaded through the content gateway)").setInputFiles({
        name: "params.json",
        mimeType: "application/json",
        buffer: Buffer.from('{"seed":7}'),
      });
      await page.getByLabel("an approval, then the post").check();
      await page.getByRole("button", { name: "Post job" }).click();
      await page.waitForURL(/#\/jobs\/2$/, { timeout: 30_000 });
      await page.getByTestId("job-status").filter({ hasText: "Open" }).waitFor();
      expect((await protocol.market.getJob(2n)).escrow).to.equal(ONE / 4n);

      const before = await protocol.market.claimableBalance(protocol.requester.address);
      await page.getByRole("button", { name: "Cancel job" }).click();
      await page.getByTestId("job-status").filter({ hasText: "Cancelled" }).waitFor();
      expect((await protocol.market.getJob(2n)).status).to.equal(2n);
      expect(await protocol.market.claimableBalance(protocol.requester.address)).to.equal(
        before + ONE / 4n,
      );
      await shot("job-cancelled-phone");
    });
  });
});
