// examples/post-and-verify.ts run for real, as a user runs it (`node examples/post-and-verify.ts`),
// against a real Hardhat chain served over HTTP and found through a devnet record, as with
// `npm run demo -- --keep`. The providers are not Docker workers (too heavy for this suite):
// three registered accounts act on the job through the contracts — bid, then commit and reveal
// real results bundles — while the script posts, watches (closing bidding and finalizing
// itself) and verifies every task against the winning roots.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { at, ONE, passTime, registerProviders, saltOf } from "../../devnet/protocol.ts";
import { waitFor } from "../../devnet/workers.ts";
import { writeBundle } from "../../sdk/results/index.ts";
import { commitRoots, placeBids, Status } from "../helpers/market.ts";
import { spawnCollecting } from "../helpers/process.ts";
import { type HttpRpcBridge, serveOverHttp } from "../helpers/subgraph-host.ts";
import {
  type RequesterFixture,
  requesterFixture,
  sourceManifest,
  writeTestDevnet,
} from "./fixtures.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const EXAMPLE = path.join(REPO, "examples", "post-and-verify.ts");

describe("examples/post-and-verify.ts", function () {
  this.timeout(180_000);
  let f: RequesterFixture;
  let bridge: HttpRpcBridge;

  beforeEach(async () => {
    f = await requesterFixture(await network.create({ chainType: "l1" }));
    bridge = await serveOverHttp(f.connection);
  });
  afterEach(async () => {
    await bridge.close();
    await f.cleanup();
  });

  it("posts a job, follows it to Finalized and writes every task's verified output", async () => {
    const providers = f.p.providers.slice(0, 3);
    await registerProviders(f.p, providers);
    const manifest = path.join(f.dir, "job.json");
    await writeFile(manifest, JSON.stringify(sourceManifest()));
    const devnetFile = path.join(f.dir, "devnet.json");
    await writeTestDevnet(devnetFile, {
      chainId: 31337,
      rpcUrl: bridge.url,
      deployment: {
        token: f.deployment.token,
        registry: f.deployment.registry,
        market: f.deployment.market,
        startBlock: 0,
      },
      contentDir: path.join(f.dir, "store"),
    });
    const out = path.join(f.dir, "results");
    const run = spawnCollecting(process.execPath, [EXAMPLE, "--manifest", manifest, "--out", out], {
      cwd: REPO,
      env: {
        ...process.env,
        CONUN_DEVNET_FILE: devnetFile,
        CONUN_RPC_URL: "",
        CONUN_PRIVATE_KEY: "",
        CONUN_CONTENT_DIR: "",
        // The fixture's requester, holding the tokens.
        CONUN_ACCOUNT: "9",
      },
    });
    let exited = false;
    void run.exited.then(() => {
      exited = true;
    });
    /** Waits for `check`, or fails at once with the example's output if it exited first. */
    const until = async (what: string, check: () => Promise<boolean>) => {
      const seen = await waitFor(
        what,
        async () => (exited ? "exited" : (await check()) && "done"),
        60_000,
        run.output,
      );
      if (seen === "exited") throw new Error(`the example exited early:\n${run.output()}`);
    };
    try {
      await until("the example to post its job", async () => (await f.p.market.jobCount()) === 1n);
      const jobId = 1n;
      // Three providers bid; once the deadline has passed the example closes bidding itself.
      await placeBids(
        f.p,
        jobId,
        providers.map((provider) => ({ provider, price: ONE, capacity: 2 })),
      );
      await passTime(f.connection, (await f.p.market.getJob(jobId)).biddingDeadline);
      await until(
        "the example to close bidding",
        async () => (await f.p.market.getJob(jobId)).status === Status.Awarded,
      );
      // Each provider writes its bundle of both tasks, commits, then reveals; the example
      // finalizes once every member revealed.
      const reveals: { root: string; cid: string }[] = [];
      for (const [i, provider] of providers.entries()) {
        const [assignment] = await f.p.market.assignmentsOf(jobId, provider.address);
        if (assignment === undefined) throw new Error("provider won nothing");
        const tasks = [];
        for (let t = 0; t < 2; t++) {
          const dir = path.join(f.dir, `work-${i}-${t}`);
          await mkdir(dir);
          await writeFile(path.join(dir, "result.txt"), `tile ${t}\n`);
          tasks.push({ index: t, status: "succeeded" as const, outputDir: dir });
        }
        const bundleDir = path.join(f.dir, `bundle-${i}`);
        const { root } = await writeBundle({
          bundleDir,
          jobId,
          groupId: assignment.groupId,
          provider: provider.address,
          tasks,
        });
        reveals.push({ root, cid: await f.store.addDirectory(bundleDir) });
        await commitRoots(f.connection, f.p, jobId, provider, [root]);
      }
      for (const [i, provider] of providers.entries()) {
        const { root, cid } = at(reveals, i);
        await f.p.market
          .connect(provider)
          .reveal(jobId, [root], saltOf(f.connection, provider.address), cid);
      }
      const timer = setTimeout(() => run.child.kill("SIGKILL"), 90_000);
      const { code } = await run.exited;
      clearTimeout(timer);
      const output = run.output();
      expect(code, output).to.equal(0);
      expect(output).to.contain("job 1 posted, escrow 9.0 CONUN");
      expect(output).to.contain("awarded: 1 replica group(s)");
      expect(output).to.contain("reveal 3/3");
      expect(output).to.contain("job 1 ended Finalized");
      expect(output).to.contain("job 1: 2 verified");
      expect((await f.p.market.getJob(jobId)).status).to.equal(Status.Finalized);
      for (const t of [0, 1]) {
        expect(await readFile(path.join(out, "tasks", String(t), "result.txt"), "utf8")).to.equal(
          `tile ${t}\n`,
        );
      }
      const report = JSON.parse(await readFile(path.join(out, "report.json"), "utf8"));
      expect(report.complete).to.equal(true);
    } finally {
      if (!exited) run.child.kill("SIGKILL");
    }
  });
});
