// Reasons, not silence: conun:post warns before posting a job the registered providers cannot
// fill, and conun:status / conun:watch say why a job ended Unfilled or a group had no quorum —
// against a real Hardhat network, with the numbers in CONUN.
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { expect } from "chai";
import { type LocalNode, startLocalNode } from "../../devnet/chain.ts";
import { at, ONE, resultRoot } from "../../devnet/protocol.ts";
import { describeJob, jobStatus } from "../../requester/manage.ts";
import { postJob } from "../../requester/post.ts";
import { explainJob } from "../../requester/reasons.ts";
import { watchJob } from "../../requester/watch.ts";
import type { FillDiagnosis } from "../../sdk/chain/diagnose.ts";
import { pricingMetadataURI } from "../../sdk/chain/pricing.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { runToEnd } from "../helpers/process.ts";
import {
  freshRequesterFixture,
  type RequesterFixture,
  sourceManifest,
  writeTestDevnet,
} from "./fixtures.ts";
import { bundleOf, closeBidding, noQuorumJob, registerProvider } from "./reasons-fixtures.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);

/** Posts the default manifest (2 tasks × k=3, max 1.5 CONUN, stake 2 CONUN, 0.5 core, 30 s). */
async function postWithCheck(f: RequesterFixture, overrides: Record<string, unknown> = {}) {
  let seen: { check: FillDiagnosis; lines: string[] } | undefined;
  const posted = await postJob(f.ctx, {
    manifest: sourceManifest(overrides),
    baseDir: f.dir,
    onFillCheck: (check, lines) => {
      seen = { check, lines };
    },
  });
  if (seen === undefined) throw new Error("onFillCheck was not called");
  return { posted, ...seen };
}

describe("why a job cannot fill, did not fill, or had no quorum", () => {
  let f: RequesterFixture;

  beforeEach(async () => {
    f = await freshRequesterFixture();
  });
  afterEach(() => f.cleanup());

  it("warns before posting when k is above the registered providers, and says so once Unfilled", async () => {
    const [a, b] = f.p.providers;
    if (a === undefined || b === undefined) throw new Error("no providers");
    await registerProvider(f.p, a);
    await registerProvider(f.p, b);
    let jobsAtCheck: bigint | undefined;
    const posted = await postJob(f.ctx, {
      manifest: sourceManifest(),
      baseDir: f.dir,
      onFillCheck: async () => {
        // Called before the transaction: no job exists yet.
        jobsAtCheck = await f.p.market.jobCount();
      },
    });
    expect(posted.fillCheck.canFill).to.equal(false);
    expect(posted.fillCheck.registered).to.equal(2);
    const warning = posted.fillCheck.reasons.map((r) => r.message).join("\n");
    expect(warning).to.contain(
      "k=3 needs 3 distinct providers (no provider runs two replicas of a task), but only 2 providers are registered",
    );
    expect(warning).to.contain("lower replication.k to 2");
    expect(jobsAtCheck).to.equal(0n);
    expect((await f.p.market.getJob(posted.jobId)).status).to.equal(1n); // posted anyway: Open

    await f.p.market.connect(a).placeBid(posted.jobId, ONE, 2);
    await f.p.market.connect(b).placeBid(posted.jobId, ONE, 2);
    await closeBidding(f, posted.jobId);

    const why = await explainJob(f.ctx, posted.jobId);
    expect(why.status).to.equal("Unfilled");
    expect(why.lines[0]).to.equal("why it did not fill (providers as registered now):");
    const text = why.lines.join("\n");
    expect(text).to.contain("only 2 providers are registered");
    expect(text).to.contain(
      `the bids cover 4 of the 6 task-replicas needed (2 tasks × k=3): 2 bids offered 4 (${a.address.slice(0, 6)}…${a.address.slice(-4)}: 2 at 1.0 CONUN`,
    );
    const status = describeJob(await jobStatus(f.ctx, posted.jobId)).join("\n");
    expect(status).to.contain("job 1: Unfilled");
    expect(status).to.contain("  - the bids cover 4 of the 6 task-replicas needed");

    const lines: string[] = [];
    await watchJob(f.connection.ethers.provider, f.deployment.market, posted.jobId, {
      onEvent: (event) => lines.push(event.text),
      timeoutMs: 10_000,
    });
    expect(lines).to.include(
      "unfilled: 2 bid(s) offered 4 of the 6 task-replicas needed (2 tasks × k=3); escrow credited back to the requester",
    );
  });

  it("names the providers whose free stake is below one task-replica's stake", async () => {
    const [a, b, c] = f.p.providers;
    if (a === undefined || b === undefined || c === undefined) throw new Error("no providers");
    await registerProvider(f.p, a);
    await registerProvider(f.p, b);
    await registerProvider(f.p, c, { stake: ONE });
    const { posted, check, lines } = await postWithCheck(f);
    expect(check.canFill).to.equal(false);
    expect(check.eligible).to.deep.equal([a.address, b.address]);
    const short = `${c.address.slice(0, 6)}…${c.address.slice(-4)}`;
    expect(lines.join("\n")).to.contain(
      `1 of 3 registered providers have less free stake than one task-replica locks (2.0 CONUN): ${short} has 1.0 CONUN free`,
    );
    expect(lines.join("\n")).to.contain(
      "only 2 providers of the 3 distinct ones k=3 needs can bid",
    );

    await f.p.market.connect(a).placeBid(posted.jobId, ONE, 2);
    await f.p.market.connect(b).placeBid(posted.jobId, ONE, 2);
    await closeBidding(f, posted.jobId);
    const text = (await explainJob(f.ctx, posted.jobId)).lines.join("\n");
    expect(text).to.contain(`${short} has 1.0 CONUN free`);
    expect(text).to.contain("the bids cover 4 of the 6 task-replicas needed");
  });

  it("compares published price floors with the max price, before posting and once Unfilled", async () => {
    // 0.5 core × 30 s × 0.2 CONUN per CPU-second × 1.2 = 3.6 CONUN per task-replica > 1.5.
    const dear = pricingMetadataURI({ floorPerCpuSecond: "0.2", margin: 0.2, minPerTask: "0.01" });
    const providers = f.p.providers.slice(0, 3);
    for (const provider of providers) await registerProvider(f.p, provider, { metadataURI: dear });
    const { posted, check, lines } = await postWithCheck(f);
    expect(check.canFill).to.equal(false);
    expect(lines.join("\n")).to.contain(
      "3 of 3 registered providers publish a price floor above the max price of 1.5 CONUN per task-replica",
    );
    expect(lines.join("\n")).to.contain("asks 3.6 CONUN");
    expect(lines.join("\n")).to.contain("raise price.maxPerTaskReplica");

    await closeBidding(f, posted.jobId);
    const text = (await explainJob(f.ctx, posted.jobId)).lines.join("\n");
    expect(text).to.contain(
      "the bids cover 0 of the 6 task-replicas needed (2 tasks × k=3): no provider bid",
    );
    // The manifest is in the requester's store: the floor is exact, not a lower bound.
    expect(text).to.contain(`${at(providers, 0).address.slice(0, 6)}…`);
    expect(text).to.contain("asks 3.6 CONUN");
    expect(text).to.not.contain("asks at least");
  });

  it("says eligible providers stayed away when no floor is published and nobody bid enough", async () => {
    const providers = f.p.providers.slice(0, 3);
    for (const provider of providers) await registerProvider(f.p, provider);
    const { posted, check } = await postWithCheck(f);
    expect(check.canFill).to.equal(true);
    expect(check.reasons.map((r) => r.code)).to.deep.equal(["price-unpublished"]);
    await f.p.market.connect(at(providers, 0)).placeBid(posted.jobId, ONE, 1);
    // While bidding is open: what the bids still lack, and nobody blamed for not bidding yet.
    const open = (await explainJob(f.ctx, posted.jobId)).lines;
    expect(open[0]).to.equal("bids so far cover 1 of 6 task-replicas:");
    expect(open.join("\n")).to.not.contain("did not bid");
    await closeBidding(f, posted.jobId);
    const text = (await explainJob(f.ctx, posted.jobId)).lines.join("\n");
    expect(text).to.contain("the bids cover 1 of the 6 task-replicas needed");
    expect(text).to.contain(
      "no provider publishes a price floor in its registry metadata, so whether 1.5 CONUN per task-replica is enough shows only in their bids",
    );
    expect(text).to.contain("2 providers whose resources and free stake fit did not bid");
    expect(text).to.contain("max price (1.5 CONUN per task-replica) is below its pricing floor");
  });

  it("lists the differing roots, who revealed them and each bundle's CID when a group has no quorum", async () => {
    const providers = f.p.providers.slice(0, 3);
    for (const provider of providers) await registerProvider(f.p, provider);
    const { jobId, roots } = await noQuorumJob(f, providers);
    expect(new Set(roots).size).to.equal(3);

    const why = await explainJob(f.ctx, jobId);
    expect(why.noQuorum).to.have.length(1);
    const text = why.lines.join("\n");
    expect(text).to.contain(
      "group 0 (tasks 0–1) had no quorum: it needs 2 of 3 members to reveal the same result root, the most that agreed was 1",
    );
    for (const [i, provider] of providers.entries()) {
      expect(text).to.contain(
        `${resultRoot(f.connection, jobId, 0, i)} revealed by ${provider.address} (bundle ${bundleOf(i)})`,
      );
    }
    expect(text).to.contain("the outputs differ between replicas");
    expect(describeJob(await jobStatus(f.ctx, jobId)).join("\n")).to.contain(
      `(bundle ${bundleOf(2)})`,
    );

    const events: string[] = [];
    await watchJob(f.connection.ethers.provider, f.deployment.market, jobId, {
      onEvent: (event) => events.push(event.text),
      timeoutMs: 10_000,
    });
    const finalized = events.find((e) => e.startsWith("group 0 (tasks 0–1) had no quorum"));
    expect(finalized).to.contain(`(bundle ${bundleOf(1)})`);
    expect(finalized).to.match(/its tasks are refunded$/);
  });
});

describe("npx hardhat conun:post, as a process", function () {
  this.timeout(180_000);
  let node: LocalNode;
  let f: RequesterFixture;

  before(async () => {
    node = await startLocalNode();
    // The fixture's files (image archive, store) only; the chain is the node's.
    f = await freshRequesterFixture();
  });
  after(async () => {
    await f?.cleanup();
    await node?.stop();
  });

  it("warns with the numbers before posting, posts anyway and says how to cancel", async () => {
    const { registry, token } = node.deployment;
    // Two registered providers (accounts 3 and 4) for a k=3 job.
    for (const index of [3, 4]) {
      const signer = node.signer(index);
      const stake = 10n * ONE;
      await (
        await ConunToken__factory.connect(token, node.signer(0)).transfer(
          await signer.getAddress(),
          stake,
        )
      ).wait();
      const r = ProviderRegistry__factory.connect(registry, signer);
      await (await r.register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, "")).wait();
      await (await ConunToken__factory.connect(token, signer).approve(registry, stake)).wait();
      await (await r.stake(stake)).wait();
    }
    const requester = node.wallets[2];
    if (requester === undefined) throw new Error("no requester");
    await (
      await ConunToken__factory.connect(token, node.signer(0)).transfer(
        requester.address,
        100n * ONE,
      )
    ).wait();

    const manifest = path.join(f.dir, "job.json");
    await writeFile(manifest, JSON.stringify(sourceManifest()));
    const devnet = path.join(f.dir, "devnet.json");
    await writeTestDevnet(devnet, {
      chainId: node.chainId,
      rpcUrl: node.url,
      deployment: {
        token: node.deployment.token,
        registry: node.deployment.registry,
        market: node.deployment.market,
        startBlock: node.deployment.startBlock,
      },
      contentDir: path.join(f.dir, "store"),
    });
    const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist/src/cli.js");
    const run = await runToEnd(
      process.execPath,
      [cli, "conun:post", "--network", "localhost", "--manifest", manifest, "--account", "2"],
      {
        cwd: REPO,
        env: {
          ...process.env,
          CONUN_DEVNET_FILE: devnet,
          CONUN_LOCALHOST_URL: node.url,
          FORCE_COLOR: "0",
        },
      },
    );
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.contain(
      "warning: this job cannot fill with the providers registered now (2 registered, 2 eligible, 4 of 6 task-replicas backed by free stake)",
    );
    expect(run.stderr).to.contain("✗ k=3 needs 3 distinct providers");
    expect(run.stdout).to.match(/job 1 posted/);
    expect(run.stdout).to.contain("npx hardhat conun:cancel --job 1 --network localhost");
  });
});
