// The worker end to end: a Hardhat node in its own process, the real Docker engine, and
// workers started as separate processes the way a provider starts them. Each test posts a real
// job (manifest in the content store, image as an ipfs:// archive), lets the workers bid, moves
// chain time past the bidding deadline, and checks what the chain and the workers show.
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { toQuantity } from "ethers";
import {
  type Cluster,
  fundProviders,
  postManifestJob,
  REQUESTER,
  startCluster,
} from "../../devnet/cluster.ts";
import { buildBusyboxImage, removeImage, saveImage } from "../../devnet/images.ts";
import { fillBidBook } from "../../devnet/protocol.ts";
import { ensureSubgraphBuild } from "../../devnet/subgraph.ts";
import {
  startWorkerProcess,
  tails,
  WORKER_CLI,
  type WorkerProcess,
  waitFor,
} from "../../devnet/workers.ts";
import { connectRequester } from "../../requester/context.ts";
import { fetchResults } from "../../requester/results.ts";
import { publishedPricing, quotePerTaskReplica } from "../../sdk/chain/pricing.ts";
import { silentLogger } from "../../sdk/logger.ts";
import { freePort } from "../../sdk/net.ts";
import {
  findGroupBundle,
  outputHash,
  resultRoot,
  unsuccessfulTaskHash,
  verifyBundle,
} from "../../sdk/results/index.ts";
import { overridesForDeployment, startSubgraphHost } from "../../subgraph-host/src/index.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import type { JobMarket } from "../../types/ethers-contracts/JobMarket.ts";
import { startTcpProxy } from "./support/tcp-proxy.ts";

const run = promisify(execFile);
const FINALIZED = 5n;
const AWARDED = 4n;
const ZERO = `0x${"0".repeat(64)}`;

/** The root an honest worker computes for tasks `first`..`first + n - 1` of the default script. */
async function expectedRoot(first: number, count: number, n = 1): Promise<string> {
  const entries = [];
  for (let index = first; index < first + n; index++) {
    const dir = await mkdtemp(path.join(tmpdir(), "conun-expected-"));
    try {
      await writeFile(path.join(dir, "result.txt"), `task ${index} of ${count}\n`);
      entries.push({ index, outputHash: await outputHash(dir) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return resultRoot(entries);
}

type EventArgs = { args: Record<string, unknown> };

/** The types of the journal entries a worker wrote for `jobId`, in order. */
async function journalTypes(dataDir: string, jobId: bigint): Promise<string[]> {
  return (await readFile(path.join(dataDir, "journal.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string; jobId?: string })
    .filter((entry) => entry.jobId === jobId.toString())
    .map((entry) => entry.type);
}

/** The results CID a worker journaled for `jobId` with its roots. */
async function journaledResultsCid(dataDir: string, jobId: bigint): Promise<string> {
  const entry = (await readFile(path.join(dataDir, "journal.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string; jobId?: string; resultsCid?: string })
    .find((e) => e.type === "results" && e.jobId === jobId.toString());
  if (entry?.resultsCid === undefined) throw new Error(`no results journaled for job ${jobId}`);
  return entry.resultsCid;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Transactions a worker journaled for `action` on `jobId` that reached the chain (a signed
 * transaction that a nonce conflict kept from ever being mined was not sent).
 */
async function minedTxs(
  cluster: Cluster,
  dataDir: string,
  jobId: bigint,
  action: string,
): Promise<string[]> {
  const entries = (await readFile(path.join(dataDir, "journal.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map(
      (line) =>
        JSON.parse(line) as { type: string; jobId?: string; action?: string; hash?: string },
    );
  const mined: string[] = [];
  for (const e of entries) {
    if (e.type !== "tx-signed" || e.jobId !== jobId.toString() || e.action !== action) continue;
    if ((await cluster.node.provider.getTransactionReceipt(e.hash as string)) !== null) {
      mined.push(e.hash as string);
    }
  }
  return mined;
}

/** Market events `name` of `jobId`, optionally only those naming `provider`. */
async function eventsOf(
  market: JobMarket,
  name: string,
  jobId: bigint,
  provider?: string,
): Promise<EventArgs[]> {
  const logs = await market.queryFilter(
    (market.filters as unknown as Record<string, () => never>)[name] as never,
    0,
    "latest",
  );
  return (logs as unknown as { args: { toObject(): Record<string, unknown> } }[])
    .map((log) => ({ args: log.args.toObject() }))
    .filter(
      (e) => e.args.jobId === jobId && (provider === undefined || e.args.provider === provider),
    );
}

describe("conun-worker (integration)", function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let market: JobMarket;
  let workers: WorkerProcess[] = [];

  before(async () => {
    cluster = await startCluster();
    market = JobMarket__factory.connect(cluster.node.deployment.market, cluster.node.provider);
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") console.log(tails(workers, 80));
    await Promise.all(workers.map((w) => w.kill()));
    workers = [];
  });

  /** Cancels a job left open, so that no other test's workers bid on it. */
  async function cancelOpenJob(jobId: bigint) {
    const requester = JobMarket__factory.connect(
      cluster.node.deployment.market,
      cluster.node.signer(REQUESTER),
    );
    await (await requester.cancelJob(jobId)).wait();
  }

  async function awardWhenBidsIn(jobId: bigint, bids = 3) {
    await waitFor(
      "every worker's bid",
      async () => (await market.getJob(jobId)).bidCount === BigInt(bids),
      60_000,
      () => tails(workers),
    );
    const { biddingDeadline } = await market.getJob(jobId);
    const now = BigInt((await cluster.node.provider.getBlock("latest"))?.timestamp ?? 0);
    await cluster.node.advance(Number(biddingDeadline - now) + 1);
  }

  async function waitForClaims(jobId: bigint, who: WorkerProcess[]) {
    await waitFor(
      "the job to be finalized",
      async () => (await market.getJob(jobId)).status === FINALIZED,
      90_000,
      () => tails(workers),
    );
    await waitFor(
      "every worker to claim",
      async () => {
        for (const w of who) if (!(await market.getBid(jobId, w.address)).claimed) return false;
        return true;
      },
      30_000,
      () => tails(workers),
    );
  }
  /** Starts a worker again on a stopped one's data folder (a restart), as one of `workers`. */
  async function restart(name: string, account: number, dataDir: string) {
    const restarted = await startWorkerProcess(cluster, { name, account, dataDir });
    workers.push(restarted);
    return restarted;
  }

  /** Restarts a worker and waits until it and the first two workers have claimed. */
  async function restartAndAwaitClaims(
    jobId: bigint,
    name: string,
    account: number,
    dataDir: string,
  ) {
    const restarted = await restart(name, account, dataDir);
    await waitForClaims(jobId, [
      workers[0] as WorkerProcess,
      workers[1] as WorkerProcess,
      restarted,
    ]);
    return restarted;
  }

  it("runs a 1 × 3 job to payment and gets the worker that commits a wrong root slashed", async () => {
    await fundProviders(cluster, [3, 4, 5]);
    const { jobId, manifest } = await postManifestJob(cluster);
    const metricsPort = await freePort();
    workers = [
      await startWorkerProcess(cluster, { name: "honest-a", account: 3, metricsPort }),
      await startWorkerProcess(cluster, { name: "honest-b", account: 4 }),
      await startWorkerProcess(cluster, { name: "cheater", account: 5, fault: "wrong-results" }),
    ];
    const [a, b, cheater] = workers as [WorkerProcess, WorkerProcess, WorkerProcess];
    await awardWhenBidsIn(jobId);
    await waitForClaims(jobId, workers);

    const root = await expectedRoot(0, 1);
    const group = await market.getGroup(jobId, 0);
    expect(group.outcome).to.equal(1n); // Agreed
    expect(group.winningRoot).to.equal(root);

    const slashes = await eventsOf(market, "ProviderSlashed", jobId);
    expect(slashes.map((e) => [e.args.provider, e.args.reason])).to.deep.equal([
      [cheater.address, 1n],
    ]);
    const registry = ProviderRegistry__factory.connect(
      cluster.node.deployment.registry,
      cluster.node.provider,
    );
    for (const honest of [a, b]) {
      const [claimed] = await eventsOf(market, "Claimed", jobId, honest.address);
      const bid = await market.getBid(jobId, honest.address);
      expect(claimed?.args.payment).to.equal(bid.price * BigInt(bid.allotted));
      expect(bid.price > 0n).to.equal(true);
      // The pricing it published in the registry is what it bid by: a requester comparing a
      // max price with the published floor (sdk/chain/diagnose) sees the worker's real quote.
      const published = publishedPricing((await registry.getProvider(honest.address)).metadataURI);
      expect(published, "published pricing").to.not.equal(undefined);
      if (published === undefined) throw new Error("unreachable");
      expect(quotePerTaskReplica(published, manifest.resources)).to.equal(bid.price);
    }

    // The results bundle revealed by an honest worker verifies against the winning root.
    const [revealed] = await eventsOf(market, "ResultRevealed", jobId, a.address);
    const bundleDir = path.join(cluster.dir, "bundle-check");
    await cluster.store.exportTo(revealed?.args.resultsCid as string, bundleDir);
    const verification = await verifyBundle(bundleDir, root);
    expect(verification.ok).to.equal(true);
    expect(verification.tasks.map((t) => t.verdict)).to.deep.equal(["verified"]);
    expect(await readFile(path.join(bundleDir, "tasks", "0", "result.txt"), "utf8")).to.equal(
      "task 0 of 1\n",
    );

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).to.match(/conun_worker_tasks_total\{status="succeeded"\} 1\b/);
    expect(metrics).to.match(/conun_worker_bids_total\{outcome="placed"\} 1\b/);
    expect(metrics).to.match(/conun_worker_tx_sent_total\{action="commit"\} 1\b/);

    const { stdout } = await run(
      process.execPath,
      [WORKER_CLI, "status", "--config", a.configPath, "--json"],
      {
        env: { ...process.env, CONUN_WORKER_DEV_KEY: cluster.node.keys[3] },
      },
    );
    const status = JSON.parse(stdout) as {
      jobs: { jobId: string; phase: string; tasks: number; succeeded: number; payment?: string }[];
      earnings: { jobsPaid: number };
    };
    const row = status.jobs.find((j) => j.jobId === jobId.toString());
    expect(row).to.include({ phase: "claimed", tasks: 1, succeeded: 1 });
    expect(Number(row?.payment)).to.be.greaterThan(0);
    expect(status.earnings.jobsPaid).to.equal(1);

    // Once claimed (or closed, for the slashed one), each worker removes the job's data and
    // journals it, which releases the disk its bid reserved.
    for (const w of workers) {
      await waitFor(
        `${w.name} to clean up`,
        async () => (await journalTypes(w.dataDir, jobId)).includes("cleaned"),
        30_000,
        () => tails(workers),
      );
      expect(await exists(path.join(w.dataDir, "jobs", jobId.toString())), w.name).to.equal(false);
    }

    expect(await Promise.all(workers.map((w) => w.stop()))).to.deep.equal([0, 0, 0]);
  });

  it("finishes after a restart a clean-up a crash interrupted, through a deep and unreadable tree", async () => {
    await fundProviders(cluster, [3]);
    const dataDir = await mkdtemp(path.join(tmpdir(), "conun-cleanup-restart-"));
    // What a crash in the middle of removing an ended job's data leaves: the journal says the
    // job was claimed but not cleaned, and part of the tree is still there — 10,000 levels
    // deep (beyond PATH_MAX) and with a directory its owner cannot read or enter.
    const jobId = "987654";
    await writeFile(
      path.join(dataDir, "journal.jsonl"),
      `${[
        { type: "bid-intent", jobId, price: "1", capacity: 1, diskBytes: 3 * 1024 * 1024 },
        { type: "closed", jobId, reason: "Finalized" },
      ]
        .map((event) => JSON.stringify({ time: new Date().toISOString(), ...event }))
        .join("\n")}\n`,
    );
    const left = path.join(dataDir, "jobs", jobId, "run", "tasks", "0", "output");
    await mkdir(left, { recursive: true });
    // Built by chdir-ing one level at a time (perl is part of every Debian): no path is long.
    await run("perl", [
      "-e",
      'chdir $ARGV[0] or die; for (1..10000) { mkdir "d" or die; chdir "d" or die } open my $f, ">", "f" or die',
      left,
    ]);
    await mkdir(path.join(left, "locked", "inner"), { recursive: true });
    await writeFile(path.join(left, "locked", "inner", "x"), "x");
    await chmod(path.join(left, "locked"), 0o000);
    // A link a task left pointing out of its folder: removed, never followed.
    const outside = path.join(dataDir, "provider-file");
    await writeFile(outside, "the provider's own\n");
    await symlink(outside, path.join(left, "escape"));
    await symlink(dataDir, path.join(left, "escape-dir"));

    const worker = await startWorkerProcess(cluster, { name: "cleaner", account: 3, dataDir });
    workers.push(worker);
    await waitFor(
      "the restarted worker to finish the clean-up",
      async () => (await journalTypes(dataDir, BigInt(jobId))).includes("cleaned"),
      120_000,
      () => tails(workers),
    );
    expect(await exists(path.join(dataDir, "jobs", jobId))).to.equal(false);
    expect(await readFile(outside, "utf8")).to.equal("the provider's own\n");
    expect(await exists(path.join(dataDir, "journal.jsonl"))).to.equal(true);
    expect(await worker.stop()).to.equal(0);
  });

  it("reveals and is paid after being killed between commit and reveal, sending nothing twice", async () => {
    await fundProviders(cluster, [6, 7, 8]);
    const { jobId } = await postManifestJob(cluster);
    workers = [
      await startWorkerProcess(cluster, { name: "steady-a", account: 6 }),
      await startWorkerProcess(cluster, { name: "steady-b", account: 7 }),
      await startWorkerProcess(cluster, {
        name: "victim",
        account: 8,
        fault: "stall-after-commit",
      }),
    ];
    const victim = workers[2] as WorkerProcess;
    await awardWhenBidsIn(jobId);
    await waitFor(
      "the victim's commitment",
      async () => {
        const [membership] = await market.assignmentsOf(jobId, victim.address);
        return membership !== undefined && membership.commitment !== ZERO;
      },
      60_000,
      () => tails(workers),
    );
    await victim.kill();
    // The others reveal; the job cannot settle without the victim's reveal.
    await waitFor(
      "the other two reveals",
      async () => (await market.getGroup(jobId, 0)).revealCount === 2n,
      30_000,
      () => tails(workers),
    );
    expect((await market.getJob(jobId)).status).to.equal(AWARDED);

    const restarted = await restartAndAwaitClaims(jobId, "victim-restarted", 8, victim.dataDir);

    expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
    const [claimed] = await eventsOf(market, "Claimed", jobId, victim.address);
    expect(claimed?.args.payment).to.be.greaterThan(0n);
    for (const name of ["BidPlaced", "ResultCommitted", "ResultRevealed", "Claimed"]) {
      expect(await eventsOf(market, name, jobId, victim.address), name).to.have.length(1);
    }
    const journal = (await readFile(path.join(victim.dataDir, "journal.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; action?: string });
    for (const action of ["placeBid", "commit", "reveal", "claim"]) {
      expect(await minedTxs(cluster, victim.dataDir, jobId, action), action).to.have.length(1);
    }
    expect(journal.filter((e) => e.type === "started")).to.have.length(2);
    expect(await restarted.stop()).to.equal(0);
  });

  it("resumes after being killed right after each transaction, before journaling it, and sends nothing twice", async () => {
    await fundProviders(cluster, [3, 4, 5]);
    const { jobId } = await postManifestJob(cluster);
    // Each worker is killed (SIGKILL) at the listed moments, restarted after each crash.
    const plans: [string, number, string[]][] = [
      ["crash-a", 3, ["crash-after-bid", "crash-after-reveal", "none"]],
      ["crash-b", 4, ["crash-after-commit", "none"]],
      ["crash-c", 5, ["crash-after-claim", "none"]],
    ];
    const supervise = async ([name, account, faults]: [string, number, string[]]) => {
      const dataDir = path.join(cluster.dir, `worker-${name}`);
      for (const [i, fault] of faults.entries()) {
        const w = await startWorkerProcess(cluster, {
          name: `${name}-${i}`,
          account,
          fault,
          dataDir,
        });
        workers.push(w);
        if (fault === "none") return w;
        await w.exited;
        expect(w.child.signalCode, `${name} under ${fault}`).to.equal("SIGKILL");
      }
      throw new Error("unreachable");
    };
    const supervised = Promise.all(plans.map(supervise));
    await awardWhenBidsIn(jobId);
    const finals = await supervised;
    await waitForClaims(jobId, finals);
    // A worker killed right after its claim learns of it from the chain once restarted.
    for (const w of finals) {
      await waitFor(`${w.name} to journal its claim`, async () =>
        (await readFile(path.join(w.dataDir, "journal.jsonl"), "utf8")).includes(
          '"type":"claimed"',
        ),
      );
    }

    expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
    expect((await market.getGroup(jobId, 0)).winningRoot).to.equal(await expectedRoot(0, 1));
    for (const w of finals) {
      for (const name of ["BidPlaced", "ResultCommitted", "ResultRevealed", "Claimed"]) {
        expect(await eventsOf(market, name, jobId, w.address), `${w.name} ${name}`).to.have.length(
          1,
        );
      }
      const journal = (await readFile(path.join(w.dataDir, "journal.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map(
          (line) =>
            JSON.parse(line) as { type: string; jobId?: string; action?: string; payment?: string },
        );
      for (const action of ["placeBid", "commit", "reveal", "claim"]) {
        const sent = await minedTxs(cluster, w.dataDir, jobId, action);
        expect(sent, `${w.name} ${action}`).to.have.length(1);
      }
      // The amounts of a claim the worker was killed after are recovered from the chain.
      const [claimed] = await eventsOf(market, "Claimed", jobId, w.address);
      const entry = journal.find((e) => e.type === "claimed" && e.jobId === jobId.toString());
      expect(entry?.payment).to.equal(String(claimed?.args.payment));
    }
  });

  it("rides out an RPC outage in the middle of a job and still completes it", async () => {
    await fundProviders(cluster, [9, 10, 11]);
    const proxy = await startTcpProxy(cluster.node.port);
    try {
      const { jobId } = await postManifestJob(cluster, {
        script: 'sleep 2; echo "task $TASK_INDEX of $TASK_COUNT" > /output/result.txt',
      });
      workers = await Promise.all(
        ["x", "y", "z"].map((name, i) =>
          startWorkerProcess(cluster, {
            name: `outage-${name}`,
            account: 9 + i,
            rpcUrl: proxy.url,
          }),
        ),
      );
      await awardWhenBidsIn(jobId);
      await waitFor(
        "the award",
        async () => (await market.getJob(jobId)).status === AWARDED,
        30_000,
      );
      // Cut while the tasks run: polls, reads and the commit transactions meet a dead endpoint.
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      expect((await market.getGroup(jobId, 0)).commitCount).to.equal(0n);
      await proxy.restore();
      await waitForClaims(jobId, workers);

      expect((await market.getGroup(jobId, 0)).winningRoot).to.equal(await expectedRoot(0, 1));
      expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
      for (const w of workers) {
        expect(await eventsOf(market, "ResultCommitted", jobId, w.address)).to.have.length(1);
        expect(w.output()).to.match(/retry/);
      }
    } finally {
      await proxy.close();
    }
  });

  it("runs a 2 × 3 job split into several replica groups, committing every membership at once", async () => {
    await fundProviders(cluster, [3, 4, 17, 18]);
    const { jobId } = await postManifestJob(cluster, { taskCount: 2 });
    // Two workers offer both tasks, two only one: six task-replicas, cut into two groups.
    workers = [
      await startWorkerProcess(cluster, { name: "multi-a", account: 3 }),
      await startWorkerProcess(cluster, { name: "multi-b", account: 4 }),
      await startWorkerProcess(cluster, {
        name: "multi-c",
        account: 17,
        extra: {
          capacity: {
            slots: 2,
            cpuMillicores: 2000,
            memoryMiB: 2048,
            gpuCount: 0,
            maxTaskReplicas: 1,
          },
        },
      }),
      await startWorkerProcess(cluster, {
        name: "multi-d",
        account: 18,
        extra: {
          capacity: {
            slots: 2,
            cpuMillicores: 2000,
            memoryMiB: 2048,
            gpuCount: 0,
            maxTaskReplicas: 1,
          },
        },
      }),
    ];
    await awardWhenBidsIn(jobId, 4);
    await waitForClaims(jobId, workers);

    const { groupCount } = await market.getJob(jobId);
    expect(groupCount).to.equal(2n);
    for (let g = 0n; g < groupCount; g++) {
      const group = await market.getGroup(jobId, g);
      expect(group.outcome).to.equal(1n);
      expect(group.winningRoot).to.equal(
        await expectedRoot(Number(group.taskStart), 2, Number(group.taskCount)),
      );
    }
    expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
    // A worker holding both groups committed both in one transaction and revealed one bundle
    // with a sub-bundle per group.
    let multi: WorkerProcess | undefined;
    for (const w of workers) {
      if ((await market.assignmentsOf(jobId, w.address)).length === 2) multi = w;
    }
    if (multi === undefined) throw new Error("no worker holds two memberships");
    const commits = await eventsOf(market, "ResultCommitted", jobId, multi.address);
    expect(commits).to.have.length(2);
    const [revealed] = await eventsOf(market, "ResultRevealed", jobId, multi.address);
    const bundleDir = path.join(cluster.dir, "multi-bundle");
    await cluster.store.exportTo(revealed?.args.resultsCid as string, bundleDir);
    for (let g = 0n; g < groupCount; g++) {
      const group = await market.getGroup(jobId, g);
      const found = await findGroupBundle(bundleDir, g);
      expect(found).to.equal(path.join(bundleDir, `group-${g}`));
      const verification = await verifyBundle(found, group.winningRoot);
      expect(verification.ok, `group ${g}`).to.equal(true);
    }

    // The requester's conun:results reads every provider's layout and proves every task.
    const ctx = await connectRequester({
      signer: cluster.node.signer(REQUESTER),
      store: cluster.store,
      deployment: {
        ...cluster.node.deployment,
        chainId: cluster.node.chainId,
        deployBlocks: { token: 0, registry: 0, assignment: 0, market: 0 },
      },
    });
    const out = path.join(cluster.dir, "multi-results");
    const report = await fetchResults(ctx, jobId, out);
    expect(report.complete).to.equal(true);
    expect(report.tasks.map((t) => [t.index, t.state])).to.deep.equal([
      [0, "verified"],
      [1, "verified"],
    ]);
    expect(report.bundles.every((b) => b.ok)).to.equal(true);
    for (const index of [0, 1]) {
      expect(await readFile(path.join(out, "tasks", String(index), "result.txt"), "utf8")).to.equal(
        `task ${index} of 2\n`,
      );
    }
  });

  it("reports the tasks of a job whose image is not the one it names as failed, and is paid, not slashed", async () => {
    await fundProviders(cluster, [3, 4, 19]);
    const impostor = await buildBusyboxImage("conun-test/worker-impostor:1", {
      "etc/impostor": "1\n",
    });
    const archive = await saveImage(impostor.id, path.join(cluster.dir, "impostor.tar"));
    const archiveCid = await cluster.store.addFile(archive);
    await removeImage(impostor.id);
    const claimedId = `sha256:${"0".repeat(63)}1`;
    const { jobId } = await postManifestJob(cluster, {
      image: { ref: `ipfs://${archiveCid}`, id: claimedId },
    });
    workers = [
      await startWorkerProcess(cluster, { name: "image-a", account: 3 }),
      await startWorkerProcess(cluster, { name: "image-b", account: 4 }),
      await startWorkerProcess(cluster, { name: "image-c", account: 19 }),
    ];
    await awardWhenBidsIn(jobId);
    await waitForClaims(jobId, workers);

    const failedRoot = resultRoot([{ index: 0, outputHash: unsuccessfulTaskHash("failed") }]);
    const group = await market.getGroup(jobId, 0);
    expect(group.outcome).to.equal(1n);
    expect(group.winningRoot).to.equal(failedRoot);
    expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
    for (const w of workers) {
      expect(w.output()).to.contain("the job's image is refused");
      expect(w.output()).to.contain("image-digest-mismatch");
    }
    const { stdout } = await run("docker", ["image", "ls", "-q", "--no-trunc"]);
    expect(stdout).not.to.contain(impostor.id);
  });

  it("stops on SIGTERM in the middle of a task with exit code 0, then runs it again after a restart", async () => {
    await fundProviders(cluster, [12, 13, 14]);
    const { jobId } = await postManifestJob(cluster, {
      script: 'sleep 4; echo "task $TASK_INDEX of $TASK_COUNT" > /output/result.txt',
    });
    workers = await Promise.all(
      ["p", "q", "r"].map((name, i) =>
        startWorkerProcess(cluster, { name: `term-${name}`, account: 12 + i }),
      ),
    );
    const stopping = workers[2] as WorkerProcess;
    await awardWhenBidsIn(jobId);
    const label = `label=conun.worker=${stopping.address.toLowerCase()}`;
    await waitFor(
      "the task's container",
      async () => {
        const { stdout } = await run("docker", ["ps", "-q", "--filter", label]);
        return stdout.trim() !== "";
      },
      30_000,
      () => tails(workers),
    );
    const started = Date.now();
    expect(await stopping.stop()).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(4000);
    expect(stopping.output()).to.contain("shutdown requested");
    const { stdout: left } = await run("docker", ["ps", "-aq", "--filter", label]);
    expect(left.trim()).to.equal("");
    const journal = await readFile(path.join(stopping.dataDir, "journal.jsonl"), "utf8");
    expect(journal).to.contain('"type":"awarded"');
    expect(journal).not.to.contain('"type":"results"');

    const restarted = await restartAndAwaitClaims(jobId, "term-r-again", 14, stopping.dataDir);
    expect((await market.getGroup(jobId, 0)).winningRoot).to.equal(await expectedRoot(0, 1));
    expect(await eventsOf(market, "ProviderSlashed", jobId)).to.have.length(0);
    expect(await eventsOf(market, "ResultCommitted", jobId, restarted.address)).to.have.length(1);
  });

  it("finds through the subgraph a job its log window does not reach, and bids on it", async () => {
    await fundProviders(cluster, [15, 16]);
    const { jobId } = await postManifestJob(cluster);
    const host = await startSubgraphHost({
      buildDir: await ensureSubgraphBuild(),
      rpcUrl: cluster.node.url,
      dbPath: ":memory:",
      name: "conun",
      port: 0,
      hostname: "127.0.0.1",
      logger: silentLogger,
      dataSourceOverrides: overridesForDeployment(cluster.node.deployment),
      pollIntervalMs: 100,
    });
    try {
      await host.waitForBlock(await cluster.node.provider.getBlockNumber(), 60_000);
      // Neither worker scans old logs; only one may ask the subgraph.
      const noLookback = { lookbackBlocks: 0 };
      workers = [
        await startWorkerProcess(cluster, {
          name: "with-subgraph",
          account: 15,
          extra: { ...noLookback, subgraphUrl: host.url },
        }),
        await startWorkerProcess(cluster, { name: "logs-only", account: 16, extra: noLookback }),
      ];
      const [withSubgraph, logsOnly] = workers as [WorkerProcess, WorkerProcess];
      await waitFor(
        "the subgraph-guided bid",
        async () => (await market.getBid(jobId, withSubgraph.address)).capacity > 0n,
        60_000,
        () => tails(workers),
      );
      // The logs-only worker has been polling all along and has registered since; it cannot
      // have seen the job.
      const registry = ProviderRegistry__factory.connect(
        cluster.node.deployment.registry,
        cluster.node.provider,
      );
      await waitFor(
        "the logs-only worker's registration",
        async () => (await registry.capabilitiesOf(logsOnly.address))[0],
        30_000,
        () => tails(workers),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await market.getBid(jobId, logsOnly.address)).capacity).to.equal(0n);
    } finally {
      await host.close();
      await cancelOpenJob(jobId);
    }
  });

  // Attack 3 of protocol v2 (lazy copying): the worker used to add its results bundle to the
  // content store before it committed, so a co-member on a shared store (or probing an IPFS node
  // by CID) read the honest outputs before committing its own. Now the bundle reaches the store
  // only at the reveal, which waits until every member has committed.
  it("keeps its results bundle out of the content store until every co-member has committed", async () => {
    await fundProviders(cluster, [3, 4, 17]);
    const copier = cluster.node.signer(17);
    const copierAddress = await copier.getAddress();
    const registry = ProviderRegistry__factory.connect(cluster.node.deployment.registry, copier);
    if (!(await registry.getProvider(copierAddress)).registered) {
      await (
        await registry.register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, "")
      ).wait();
    }
    const token = ConunToken__factory.connect(cluster.node.deployment.token, copier);
    await (await token.approve(cluster.node.deployment.registry, 100n * 10n ** 18n)).wait();
    await (await registry.stake(100n * 10n ** 18n)).wait();

    const { jobId } = await postManifestJob(cluster);
    workers = [
      await startWorkerProcess(cluster, { name: "copied-a", account: 3 }),
      await startWorkerProcess(cluster, { name: "copied-b", account: 4 }),
    ];
    const copierMarket = market.connect(copier);
    await (await copierMarket.placeBid(jobId, 1n, 1)).wait();
    await awardWhenBidsIn(jobId);
    await waitFor(
      "both workers to commit",
      async () => {
        for (const w of workers) {
          const [membership] = await market.assignmentsOf(jobId, w.address);
          if (membership === undefined || membership.commitment === ZERO) return false;
        }
        return true;
      },
      60_000,
      () => tails(workers),
    );
    const cids = await Promise.all(workers.map((w) => journaledResultsCid(w.dataDir, jobId)));
    for (const cid of cids) {
      expect(await cluster.store.has(cid), `${cid} before the copier committed`).to.equal(false);
    }
    expect((await market.getGroup(jobId, 0)).revealCount).to.equal(0n);

    // The copier commits (whatever it has); now the group is complete and the workers reveal.
    const salt = `0x${"cc".repeat(32)}`;
    await (
      await copierMarket.commit(jobId, [
        await market.commitmentFor(jobId, 0, copierAddress, `0x${"ab".repeat(32)}`, salt),
      ])
    ).wait();
    await waitFor(
      "both workers to reveal",
      async () => (await market.getGroup(jobId, 0)).revealCount === 2n,
      60_000,
      () => tails(workers),
    );
    for (const [i, w] of workers.entries()) {
      const [revealed] = await eventsOf(market, "ResultRevealed", jobId, w.address);
      expect(revealed?.args.resultsCid).to.equal(cids[i]);
      expect(await cluster.store.has(cids[i] ?? ""), `${w.name}'s bundle`).to.equal(true);
    }
  });

  // Protocol v2's jam-proof book: a cheaper bid on a full book evicts the dearest. The worker
  // must notice that its bid is gone and free its capacity, and a worker that cannot beat a
  // full book must say so and not retry.
  it("frees its capacity when a cheaper bid evicts it from a full book, and skips a full book it cannot beat", async () => {
    await fundProviders(cluster, [15, 16]);
    const { jobId } = await postManifestJob(cluster);
    const first = await startWorkerProcess(cluster, { name: "evicted", account: 15 });
    workers.push(first);
    try {
      await waitFor(
        "the first worker's bid",
        async () => (await market.getBid(jobId, first.address)).capacity > 0n,
        60_000,
        () => tails(workers),
      );
      const { price } = await market.getBid(jobId, first.address);
      const chain = {
        provider: cluster.node.provider,
        setBalance: async (address: string, wei: bigint) => {
          await cluster.node.rpc("hardhat_setBalance", [address, toQuantity(wei)]);
        },
        token: ConunToken__factory.connect(cluster.node.deployment.token, cluster.node.signer(0)),
        registry: ProviderRegistry__factory.connect(
          cluster.node.deployment.registry,
          cluster.node.provider,
        ),
        market,
      };
      // 63 cheaper bids fill the book; the 65th bid, cheaper still, evicts the worker's.
      await fillBidBook(chain, jobId, { price: price - 1n, capacity: 1 });
      const [evictor] = await fillBidBook(chain, jobId, {
        price: price - 2n,
        capacity: 1,
        count: 1,
      });
      expect(await eventsOf(market, "BidEvicted", jobId, first.address)).to.deep.equal([
        {
          args: {
            jobId,
            provider: first.address,
            by: evictor?.address,
            stakeUnlocked: (await market.getJob(jobId)).stakePerTaskReplica,
          },
        },
      ]);
      await waitFor(
        "the worker to close the job as evicted",
        async () => first.output().includes("bid evicted"),
        30_000,
        () => tails(workers),
      );
      expect(await journalTypes(first.dataDir, jobId)).to.include("closed");

      // A second worker asks what the first asked: more than the dearest bid left in the book.
      const second = await startWorkerProcess(cluster, { name: "book-full", account: 16 });
      workers.push(second);
      await waitFor(
        "the second worker to give up on the full book",
        async () => second.output().includes("the bid book is full"),
        60_000,
        () => tails(workers),
      );
      expect((await market.getBid(jobId, second.address)).capacity).to.equal(0n);
      const journaled = await journalTypes(second.dataDir, jobId);
      expect(journaled[0]).to.equal("bid-intent");
      expect(journaled).to.include("closed");
      expect(journaled).not.to.include("bid-placed");
    } finally {
      await cancelOpenJob(jobId);
    }
  });

  it("waits for a bid still pending from before a crash instead of bidding again", async () => {
    await fundProviders(cluster, [19]);
    const dataDir = path.join(cluster.dir, "worker-pending");
    const first = await startWorkerProcess(cluster, { name: "pending-0", account: 19, dataDir });
    workers.push(first);
    await waitFor("the worker to start", async () => first.output().includes("worker starting"));
    const registry = ProviderRegistry__factory.connect(
      cluster.node.deployment.registry,
      cluster.node.provider,
    );
    await waitFor(
      "registration and stake",
      async () => (await registry.getProvider(first.address)).stake >= 100n * 10n ** 18n,
      30_000,
      () => tails(workers),
    );
    expect(await first.stop()).to.equal(0);
    const { jobId } = await postManifestJob(cluster);
    const journalPath = path.join(dataDir, "journal.jsonl");
    const signedBids = async () =>
      (await readFile(journalPath, "utf8"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; action?: string; jobId?: string })
        .filter(
          (e) => e.type === "tx-signed" && e.action === "placeBid" && e.jobId === jobId.toString(),
        );
    await cluster.node.rpc("evm_setAutomine", [false]);
    try {
      const bidder = await startWorkerProcess(cluster, { name: "pending-1", account: 19, dataDir });
      workers.push(bidder);
      await waitFor(
        "the bid to be signed and sent",
        async () => (await signedBids()).length === 1,
        30_000,
        () => tails(workers),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await bidder.kill();
      expect((await market.getBid(jobId, bidder.address)).capacity).to.equal(0n);
      const restarted = await restart("pending-2", 19, dataDir);
      await waitFor(
        "the restarted worker to wait for its pending bid",
        async () => restarted.output().includes("waiting for a transaction sent earlier"),
        30_000,
        () => tails(workers),
      );
      await cluster.node.rpc("evm_mine", []);
      await cluster.node.rpc("evm_setAutomine", [true]);
      await waitFor(
        "the bid to be journaled as placed",
        async () =>
          (await readFile(journalPath, "utf8")).includes(`"type":"bid-placed","jobId":"${jobId}"`),
        30_000,
        () => tails(workers),
      );
      expect(await eventsOf(market, "BidPlaced", jobId, restarted.address)).to.have.length(1);
      expect(await signedBids()).to.have.length(1);
      expect(restarted.output()).not.to.contain("JobMarketDuplicateBid");
    } finally {
      await cluster.node.rpc("evm_setAutomine", [true]);
      await cancelOpenJob(jobId);
    }
  });
});
