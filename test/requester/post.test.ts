import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { ONE } from "../../devnet/protocol.ts";
import { connectRequester } from "../../requester/context.ts";
import { RequesterError } from "../../requester/errors.ts";
import { postJob } from "../../requester/post.ts";
import {
  expectConunError,
  freshRequesterFixture,
  type RequesterFixture,
  sourceManifest,
} from "./fixtures.ts";

describe("postJob", () => {
  let f: RequesterFixture;

  beforeEach(async () => {
    f = await freshRequesterFixture();
  });
  afterEach(() => f.cleanup());

  async function writeManifest(manifest: Record<string, unknown>, name = "job.json") {
    const file = path.join(f.dir, name);
    await writeFile(file, JSON.stringify(manifest));
    return file;
  }

  it("posts with a permit in a single transaction and leaves no allowance behind", async () => {
    const before = await f.p.token.balanceOf(f.requester.address);
    const nonce = await f.connection.ethers.provider.getTransactionCount(f.requester.address);
    const result = await postJob(f.ctx, { manifestPath: await writeManifest(sourceManifest()) });

    const escrow = (2n * 3n * (15n * ONE)) / 10n;
    expect(result.jobId).to.equal(1n);
    expect(result.escrow).to.equal(escrow);
    expect(await f.connection.ethers.provider.getTransactionCount(f.requester.address)).to.equal(
      nonce + 1,
    );
    expect(await f.p.token.balanceOf(f.requester.address)).to.equal(before - escrow);
    expect(await f.p.token.allowance(f.requester.address, f.deployment.market)).to.equal(0n);
    const job = await f.p.market.getJob(result.jobId);
    expect(job.requester).to.equal(f.requester.address);
    expect(job.taskCount).to.equal(2n);
    expect(job.escrow).to.equal(escrow);
  });

  it("puts the resolved manifest's CID and SHA-256 on chain, with the uploaded image", async () => {
    const result = await postJob(f.ctx, { manifestPath: await writeManifest(sourceManifest()) });
    const [posted] = await f.p.market.queryFilter(f.p.market.filters.JobPosted(result.jobId));
    const spec = posted?.args.spec;
    const stored = await f.store.getBytes(result.manifestCid);
    expect(spec?.manifestCid).to.equal(result.manifestCid);
    expect(spec?.manifestDigest).to.equal(`0x${createHash("sha256").update(stored).digest("hex")}`);
    expect(spec?.imageDigest).to.equal(`0x${f.imageId.slice("sha256:".length)}`);
    expect(spec?.imageRef).to.match(/^ipfs:\/\/b/);
    const resolved = JSON.parse(new TextDecoder().decode(stored));
    expect(resolved.image).to.deep.equal({ ref: spec?.imageRef, id: f.imageId });
    const archiveCid = (spec?.imageRef ?? "").slice("ipfs://".length);
    expect(await f.store.has(archiveCid)).to.equal(true);
  });

  it("uploads input directories and replaces their sources by CIDs", async () => {
    const data = path.join(f.dir, "data");
    await import("node:fs/promises").then((fs) => fs.mkdir(data));
    await writeFile(path.join(data, "params.txt"), "seed=1\n");
    const manifest = sourceManifest({ inputs: [{ source: "./data", path: "data" }] });
    const result = await postJob(f.ctx, { manifestPath: await writeManifest(manifest) });
    const resolved = JSON.parse(result.manifestText);
    expect(resolved.inputs).to.have.length(1);
    expect(resolved.inputs[0].path).to.equal("data");
    expect(resolved.inputs[0]).to.not.have.property("source");
    expect(await f.store.has(resolved.inputs[0].cid)).to.equal(true);
  });

  it("posts with an approval first when asked to", async () => {
    const nonce = await f.connection.ethers.provider.getTransactionCount(f.requester.address);
    const result = await postJob(f.ctx, {
      manifestPath: await writeManifest(sourceManifest()),
      approval: "approve",
    });
    expect(await f.connection.ethers.provider.getTransactionCount(f.requester.address)).to.equal(
      nonce + 2,
    );
    expect((await f.p.market.getJob(result.jobId)).escrow).to.equal(result.escrow);
  });

  it("reads YAML manifests", async () => {
    const yaml = (await import("yaml")).default.stringify(sourceManifest());
    const file = path.join(f.dir, "job.yaml");
    await writeFile(file, yaml);
    const result = await postJob(f.ctx, { manifestPath: file });
    expect(result.jobId).to.equal(1n);
  });

  it("rejects an invalid manifest listing every problem, before any transaction", async () => {
    const nonce = await f.connection.ethers.provider.getTransactionCount(f.requester.address);
    const bad = sourceManifest({ tasks: { count: 0 }, replication: { k: 3, quorum: 1 } });
    const error = await expectConunError(
      postJob(f.ctx, { manifestPath: await writeManifest(bad) }),
      "manifest-invalid",
    );
    expect(error.message).to.contain("tasks.count");
    expect(error.message).to.contain("replication.quorum");
    expect(await f.connection.ethers.provider.getTransactionCount(f.requester.address)).to.equal(
      nonce,
    );
  });

  it("rejects a manifest that is not JSON", async () => {
    const file = path.join(f.dir, "broken.json");
    await writeFile(file, "{ not json");
    await expectConunError(postJob(f.ctx, { manifestPath: file }), "manifest-unreadable");
  });

  it("refuses to post without enough tokens and names the faucet", async () => {
    const poor = f.p.others[1];
    if (poor === undefined) throw new Error("no spare account");
    const ctx = await connectRequester({ signer: poor, store: f.store, deployment: f.deployment });
    const error = await expectConunError(
      postJob(ctx, { manifestPath: await writeManifest(sourceManifest()) }),
      "insufficient-tokens",
    );
    expect(error.message).to.contain("conun:faucet");
    expect(await f.p.market.jobCount()).to.equal(0n);
  });

  it("refuses to rely on an allowance that does not cover the escrow", async () => {
    await f.p.token.connect(f.requester).approve(f.deployment.market, ONE);
    const error = await expectConunError(
      postJob(f.ctx, { manifestPath: await writeManifest(sourceManifest()), approval: "existing" }),
      "insufficient-allowance",
    );
    expect(error.message).to.contain("--approval permit");
    expect(await f.p.market.jobCount()).to.equal(0n);
  });

  it("refuses a chain without a CONUN deployment", async () => {
    const error = await expectConunError(
      connectRequester({
        signer: f.requester,
        store: f.store,
        deploymentOptions: { deploymentsDir: path.join(f.dir, "no-deployments") },
      }),
      "wrong-network",
    );
    expect(error.message).to.contain("--network");
  });

  it("refuses a deployment record whose contracts are not on this chain", async () => {
    const stale = { ...f.deployment, market: "0x00000000000000000000000000000000000000aa" };
    const error = await expectConunError(
      connectRequester({ signer: f.requester, store: f.store, deployment: stale }),
      "wrong-network",
    );
    expect(error).to.be.instanceOf(RequesterError);
    expect(error.message).to.contain("deploy:local");
  });
});
