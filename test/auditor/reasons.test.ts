import { expect } from "chai";
import { network } from "hardhat";
import { ONE, resultRoot } from "../../devnet/protocol.ts";
import { postJob } from "../../requester/post.ts";
import {
  type HttpRpcBridge,
  indexProtocol,
  serveOverHttp,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";
import { type RequesterFixture, requesterFixture, sourceManifest } from "../requester/fixtures.ts";
import {
  bundleOf,
  closeBidding,
  noQuorumJob,
  registerProvider,
} from "../requester/reasons-fixtures.ts";
import { audit } from "./run-audit.ts";

describe("auditor/cli.ts job: why", function () {
  this.timeout(120_000);
  let f: RequesterFixture;
  let bridge: HttpRpcBridge;
  let host: TestIndexer;

  before(async () => {
    f = await requesterFixture(await network.create({ chainType: "l1" }));
    bridge = await serveOverHttp(f.connection);
    host = await indexProtocol(f.connection, f.p, bridge.url);
  });
  after(async () => {
    await host?.destroy();
    await bridge?.close();
    await f?.cleanup();
  });

  it("says an Unfilled job's bids fell short and k is above the registered providers", async () => {
    const [a, b] = f.p.providers;
    if (a === undefined || b === undefined) throw new Error("no providers");
    await registerProvider(f.p, a);
    await registerProvider(f.p, b);
    const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    await f.p.market.connect(a).placeBid(jobId, ONE, 2);
    await f.p.market.connect(b).placeBid(jobId, ONE, 1);
    await closeBidding(f, jobId);
    await host.sync();

    const run = await audit(["job", String(jobId), "--url", host.url], { timeoutMs: 30_000 });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`Job ${jobId} — Unfilled`);
    expect(run.stdout).to.contain("Why not filled");
    expect(run.stdout).to.contain("Why it did not fill (providers as indexed now):");
    expect(run.stdout).to.contain("only 2 providers are registered");
    expect(run.stdout).to.contain(
      "the bids cover 3 of the 6 task-replicas needed (2 tasks × k=3): 2 bids offered 3",
    );
    expect(run.stdout).to.contain(": 1 at 1.0 CONUN");
  });

  it("lists the differing roots, their revealers and bundle CIDs of a group without quorum", async () => {
    const third = f.p.providers[2];
    if (third === undefined) throw new Error("no provider");
    await registerProvider(f.p, third);
    const providers = f.p.providers.slice(0, 3);
    const { jobId } = await noQuorumJob(f, providers);
    await host.sync();

    const run = await audit(["job", String(jobId), "--url", host.url], { timeoutMs: 30_000 });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`Job ${jobId} — Finalized`);
    expect(run.stdout).to.contain("Why no quorum");
    expect(run.stdout).to.contain(
      "group 0 (tasks 0–1) had no quorum: it needs 2 of 3 members to reveal the same result root, the most that agreed was 1",
    );
    for (const [i, provider] of providers.entries()) {
      const root = resultRoot(f.connection, jobId, 0, i);
      expect(run.stdout).to.contain(
        `${root} revealed by ${provider.address.toLowerCase()} (bundle ${bundleOf(i)})`,
      );
    }
    expect(run.stdout).to.contain("the outputs differ between replicas");
  });
});
