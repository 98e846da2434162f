// The demo's flow, smaller: a real Hardhat node in its own process, the real contracts, the
// embedded subgraph host, three worker processes (one returning wrong results) running the
// demo's Mandelbrot image in Docker, and the requester tools. Asserts the on-chain outcome,
// the subgraph's view of it, the verified outputs and every party's token balance.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import {
  type Chain,
  type Devnet,
  deploymentOf,
  type RunningSubgraph,
  type RunningWorker,
  startDevnet,
} from "../../devnet/index.ts";
import { connectRequester, type RequesterContext } from "../../requester/context.ts";
import { imageIdOfArchive } from "../../requester/image-archive.ts";
import { assembleTiles } from "../../requester/mosaic.ts";
import { type PostResult, postJob } from "../../requester/post.ts";
import { fetchResults } from "../../requester/results.ts";
import { type JobProgress, paidProviders, watchJob } from "../../requester/watch.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { buildDemoImage, type DemoImage, smallMandelbrotManifest } from "../helpers/demo-image.ts";

const run = promisify(execFile);
const ONE = 10n ** 18n;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function graphql(url: string, query: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (body.errors !== undefined) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data ?? {};
}

describe("the demo flow, end to end", function () {
  this.timeout(240_000);

  let dir: string;
  let devnet: Devnet | undefined;
  let chain: Chain;
  let subgraph: RunningSubgraph;
  let workers: RunningWorker[] = [];
  let image: DemoImage;
  let ctx: RequesterContext;
  let posted: PostResult;
  let final: JobProgress;
  const balancesBefore = new Map<string, bigint>();
  const stakeBefore = new Map<string, bigint>();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-e2e-"));
    image = await buildDemoImage();
    const specs = [
      { name: "honest-a", account: 3 },
      { name: "honest-b", account: 4 },
      { name: "cheater", account: 5, fault: "wrong-results" as const },
    ];
    devnet = await startDevnet({
      dir,
      chain: { deploy: "direct" },
      subgraph: true,
      funding: { accounts: [2, ...specs.map((s) => s.account)], amount: "1000" },
      workers: specs,
    });
    ({ chain, workers } = devnet);
    if (devnet.subgraph === undefined) throw new Error("no subgraph");
    subgraph = devnet.subgraph;
    const requester = chain.wallets[2];
    if (requester === undefined) throw new Error("no requester account");
    const token = ConunToken__factory.connect(chain.deployment.token, chain.provider);
    const registry = ProviderRegistry__factory.connect(chain.deployment.registry, chain.provider);
    for (const address of [requester.address, ...workers.map((w) => w.address)]) {
      balancesBefore.set(address, await token.balanceOf(address));
      stakeBefore.set(address, (await registry.getProvider(address)).stake);
    }
    ctx = await connectRequester({
      signer: requester,
      storeDir: path.join(dir, "content"),
      deployment: deploymentOf(chain),
    });
    posted = await postJob(ctx, { manifest: smallMandelbrotManifest(image), baseDir: dir });
    final = await watchJob(chain.provider, chain.deployment.market, posted.jobId, {
      fromBlock: posted.blockNumber,
      drive: requester,
      untilClaimed: true,
      pollMs: 200,
      timeoutMs: 180_000,
    });
  });

  after(async () => {
    await ctx?.store.close();
    await devnet?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const honest = () => workers.filter((w) => w.fault === "none");
  const cheater = () => {
    const found = workers.find((w) => w.fault !== "none");
    if (found === undefined) throw new Error("no cheater");
    return found;
  };

  it("reads the same image ID from the demo's docker save archive as Docker reports", async () => {
    expect(await imageIdOfArchive(image.archive)).to.equal(image.imageId);
    const resolved = JSON.parse(posted.manifestText);
    expect(resolved.image.id).to.equal(image.imageId);
  });

  it("finalizes the job with the honest root winning and the cheater slashed", async () => {
    expect(final.status).to.equal("Finalized");
    expect(final.groups.every((g) => g.outcome === "Agreed")).to.equal(true);
    expect(final.slashes.map((s) => [s.provider, s.reason])).to.deep.equal(
      final.groups.map(() => [cheater().address, "WrongResult"]),
    );
    expect(new Set(paidProviders(final))).to.deep.equal(new Set(honest().map((w) => w.address)));
    const market = JobMarket__factory.connect(chain.deployment.market, chain.provider);
    expect((await market.getJob(posted.jobId)).status).to.equal(5n);
  });

  it("pays the honest providers their bid for every task and slashes the cheater's stake", async () => {
    const token = ConunToken__factory.connect(chain.deployment.token, chain.provider);
    const registry = ProviderRegistry__factory.connect(chain.deployment.registry, chain.provider);
    const tasks = BigInt(final.taskCount);
    for (const worker of honest()) {
      const claim = final.claims.get(worker.address);
      const bid = final.bids.get(worker.address);
      expect(claim, `${worker.name} claimed`).to.not.equal(undefined);
      expect(claim?.payment).to.equal((bid?.price ?? 0n) * tasks);
      const gained =
        (await token.balanceOf(worker.address)) - (balancesBefore.get(worker.address) ?? 0n);
      expect(gained).to.equal((claim?.payment ?? 0n) - (claim?.fee ?? 0n));
      expect((await registry.getProvider(worker.address)).stake).to.equal(
        stakeBefore.get(worker.address),
      );
    }
    const slashed = tasks * 5n * ONE;
    const c = cheater();
    expect((await registry.getProvider(c.address)).stake).to.equal(
      (stakeBefore.get(c.address) ?? 0n) - slashed,
    );
    expect(await token.balanceOf(c.address)).to.equal(balancesBefore.get(c.address));
    expect(final.slashed).to.equal(slashed);
  });

  it("charges the requester only what the honest providers earned", async () => {
    const token = ConunToken__factory.connect(chain.deployment.token, chain.provider);
    const market = JobMarket__factory.connect(chain.deployment.market, chain.provider);
    const paid = honest().reduce(
      (sum, w) => sum + (final.claims.get(w.address)?.payment ?? 0n),
      0n,
    );
    const requester = ctx.account;
    const spent = (balancesBefore.get(requester) ?? 0n) - (await token.balanceOf(requester));
    expect(spent).to.equal(posted.escrow);
    expect(await market.claimableBalance(requester)).to.equal(posted.escrow - paid);
  });

  it("verifies every tile against the on-chain root and renders what the image renders", async () => {
    const out = path.join(dir, "results");
    const report = await fetchResults(ctx, posted.jobId, out);
    expect(report.complete).to.equal(true);
    expect(report.tasks.map((t) => t.state)).to.deep.equal(["verified", "verified"]);
    // The same tile rendered here, outside the protocol, is byte-identical.
    const expected = path.join(dir, "expected");
    await import("node:fs/promises").then((fs) => fs.mkdir(expected, { mode: 0o777 }));
    await run(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        "none",
        "-e",
        "TASK_INDEX=1",
        "-v",
        `${expected}:/output`,
        image.imageId,
        ...(smallMandelbrotManifest(image).command as string[]),
      ],
      { timeout: 60_000 },
    );
    expect(sha256(await readFile(path.join(out, "tasks/1/tile.ppm")))).to.equal(
      sha256(await readFile(path.join(expected, "tile.ppm"))),
    );
    const picture = await assembleTiles(path.join(out, "tasks"), 2, path.join(dir, "picture.png"));
    expect(picture).to.deep.include({ placed: 2, missing: [], width: 128, height: 64 });
  });

  it("shows the same outcome through the subgraph", async () => {
    const finalizedBlock = await chain.provider.getBlockNumber();
    await subgraph.waitForBlock(finalizedBlock, 30_000);
    const data = await graphql(
      subgraph.url,
      `{ job(id: "${posted.jobId}") { status taskCount replication }
         slashes { provider { id } reason amount }
         providers(where: { netEarnings_gt: "0" }) { id } }`,
    );
    expect(data.job).to.deep.equal({ status: "Finalized", taskCount: 2, replication: 3 });
    const slashes = data.slashes as { provider: { id: string }; reason: string; amount: string }[];
    expect(slashes.map((s) => [s.provider.id, s.reason])).to.deep.equal(
      final.groups.map(() => [cheater().address.toLowerCase(), "WrongResult"]),
    );
    const earners = (data.providers as { id: string }[]).map((p) => p.id).sort();
    expect(earners).to.deep.equal(
      honest()
        .map((w) => w.address.toLowerCase())
        .sort(),
    );
  });
});
