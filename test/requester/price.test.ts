// `conun:post --price auto` on a real chain: a bid history made through the contracts and
// indexed by the real embedded subgraph host over HTTP, read by the requester library and by
// the Hardhat task run as a child process (against the same chain, served over HTTP).
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { parseUnits } from "ethers";
import { network } from "hardhat";
import { at, postJob as postRawJob, registerProviders } from "../../devnet/protocol.ts";
import { postJob } from "../../requester/post.ts";
import { advisePrice, priceRequestOf } from "../../requester/price.ts";
import { pricingMetadataURI } from "../../sdk/chain/pricing.ts";
import { parseManifest } from "../../sdk/manifest/index.ts";
import { closeBiddingAfterDeadline, placeBids } from "../helpers/market.ts";
import { runToEnd } from "../helpers/process.ts";
import {
  type HttpRpcBridge,
  indexProtocol,
  serveOverHttp,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";
import {
  type RequesterFixture,
  requesterFixture,
  sourceManifest,
  writeTestDevnet,
} from "./fixtures.ts";
import { registerProvider } from "./reasons-fixtures.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);
const HARDHAT_CLI = path.join(
  path.dirname(require.resolve("hardhat/package.json")),
  "dist/src/cli.js",
);
const conun = (text: string) => parseUnits(text, 18);

interface System {
  f: RequesterFixture;
  bridge: HttpRpcBridge;
  indexer: TestIndexer;
  stop(): Promise<void>;
}

async function startSystem(): Promise<System> {
  const connection = await network.create({ chainType: "l1" });
  const f = await requesterFixture(connection);
  const bridge = await serveOverHttp(connection);
  const indexer = await indexProtocol(connection, f.p, bridge.url);
  return {
    f,
    bridge,
    indexer,
    stop: async () => {
      await indexer.destroy();
      await bridge.close();
      await f.cleanup();
    },
  };
}

/** Posts the default manifest (2 tasks × k=3, 0.5 core, 128 MiB, 30 s) with `overrides`. */
async function postManifest(f: RequesterFixture, overrides: Record<string, unknown> = {}) {
  return (await postJob(f.ctx, { manifest: sourceManifest(overrides), baseDir: f.dir })).jobId;
}

/** Each provider bids `prices[i]` CONUN for 2 task-replicas; bidding is then closed. */
async function bidAndClose(
  f: RequesterFixture,
  jobId: bigint,
  providers: HardhatEthersSigner[],
  prices: string[],
) {
  await placeBids(
    f.p,
    jobId,
    prices.map((price, i) => ({ provider: at(providers, i), price: conun(price), capacity: 2 })),
  );
  await closeBiddingAfterDeadline(f.connection, f.p, jobId);
}

/** Runs `npx hardhat conun:post --network localhost …` as the fixture's requester (account 9). */
async function runPostTask(
  s: System,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const manifest = path.join(s.f.dir, "job.json");
  await writeFile(manifest, JSON.stringify(sourceManifest()));
  const devnet = path.join(s.f.dir, "devnet.json");
  await writeTestDevnet(devnet, {
    chainId: 31337,
    rpcUrl: s.bridge.url,
    deployment: {
      token: s.f.deployment.token,
      registry: s.f.deployment.registry,
      market: s.f.deployment.market,
      startBlock: 0,
    },
    contentDir: path.join(s.f.dir, "store"),
    subgraphUrl: s.indexer.url,
  });
  return runToEnd(
    process.execPath,
    [
      HARDHAT_CLI,
      "conun:post",
      "--network",
      "localhost",
      "--manifest",
      manifest,
      "--account",
      "9",
      ...args,
    ],
    {
      cwd: REPO,
      env: {
        ...process.env,
        CONUN_DEVNET_FILE: devnet,
        CONUN_LOCALHOST_URL: s.bridge.url,
        SUBGRAPH_URL: "",
        FORCE_COLOR: "0",
      },
    },
  );
}

describe("conun:post --price auto", function () {
  this.timeout(240_000);

  describe("with a bid history", () => {
    let s: System;

    before(async () => {
      s = await startSystem();
      const { f } = s;
      const providers = f.p.providers.slice(0, 4);
      await registerProviders(f.p, providers);
      // Five similar jobs: four filled, clearing (highest winning bid) at 0.4, 0.6, 0.3 and
      // 0.2 CONUN, and one Unfilled (two bids for six task-replicas).
      await bidAndClose(f, await postManifest(f), providers, ["0.2", "0.3", "0.4"]);
      await bidAndClose(f, await postManifest(f), providers, ["0.3", "0.5", "0.6"]);
      // The fourth bid, at 0.9, loses at the award: it says nothing of the clearing price.
      await bidAndClose(f, await postManifest(f), providers, ["0.2", "0.2", "0.3", "0.9"]);
      await bidAndClose(f, await postManifest(f), providers, ["0.1", "0.1"]);
      await bidAndClose(f, await postManifest(f), providers, ["0.1", "0.1", "0.2"]);
      // Not similar: eight times the CPU, bid dearly.
      await bidAndClose(
        f,
        await postManifest(f, {
          resources: { cpuMillicores: 4000, memoryMiB: 128, timeoutSeconds: 30 },
        }),
        providers,
        ["1.4", "1.4", "1.4"],
      );
      // Similar resources on chain, but its manifest is in no store here: timeout unknown.
      const blind = await postRawJob(f.p, {
        taskCount: 2,
        cpuMillicores: 500,
        memoryMiB: 128,
        maxPrice: conun("1.5"),
        biddingWindow: 60,
      });
      await bidAndClose(f, blind, providers, ["1.0", "1.0", "1.0"]);
      await s.indexer.sync();
    });
    after(() => s.stop());

    it("proposes the lowest clearing price 80 % of the similar jobs filled at, with the escrow", async () => {
      const advice = await advisePrice(
        s.f.ctx,
        priceRequestOf(parseManifest(sourceManifest(), { form: "source" })),
        {
          subgraph: s.indexer.url,
        },
      );
      const g = advice.guidance;
      if (g.kind !== "proposal") throw new Error(advice.lines.join("\n"));
      expect(g.sampleSize).to.equal(5);
      expect(g.unfilled).to.equal(1);
      expect(g.unknownTimeout).to.equal(1);
      expect(g.maxPrice).to.equal(conun("0.6"));
      expect(g.filledAtOrBelow).to.equal(4);
      expect(g.fillChance).to.equal(0.8);
      expect(g.escrow).to.equal(6n * conun("0.6"));
      // Mean winning prices 0.3, 0.4666…, 0.2333… and 0.1333…: the median is 0.2666….
      expect(g.typicalPrice).to.equal((conun("0.7") / 3n + conun("0.9") / 3n) / 2n);
      const text = advice.lines.join("\n");
      expect(text).to.contain("proposed max price 0.6 CONUN per task-replica");
      expect(text).to.contain("escrow 3.6 CONUN (2 tasks × k=3 = 6 task-replicas");
      expect(text).to.contain(
        "4 of the 5 most recent similar jobs (80 %) filled at or below this price; 1 of them ended Unfilled",
      );
      expect(text).to.contain("1 job(s) of similar CPU, memory and GPUs were left out");
    });

    it("the task shows the proposal and its escrow and does not post without --yes", async () => {
      const before = await s.f.p.market.jobCount();
      const run = await runPostTask(s, ["--price", "auto"]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain("proposed max price 0.6 CONUN per task-replica");
      expect(run.stdout).to.contain("escrow 3.6 CONUN");
      expect(run.stdout).to.contain("not posted");
      expect(run.stdout).to.contain("--price 0.6");
      expect(await s.f.p.market.jobCount()).to.equal(before);
    });

    it("the task posts at the proposed price with --yes, the escrow shown first", async () => {
      const before = await s.f.p.market.jobCount();
      const balance = await s.f.p.token.balanceOf(s.f.requester.address);
      const run = await runPostTask(s, ["--price", "auto", "--yes"]);
      expect(run.code, run.stderr).to.equal(0);
      const shown = run.stdout.indexOf("escrow 3.6 CONUN");
      expect(shown).to.be.greaterThan(-1);
      expect(run.stdout.indexOf(`job ${before + 1n} posted`)).to.be.greaterThan(shown);
      const job = await s.f.p.market.getJob(before + 1n);
      expect(job.maxPrice).to.equal(conun("0.6"));
      expect(job.escrow).to.equal(conun("3.6"));
      expect(await s.f.p.token.balanceOf(s.f.requester.address)).to.equal(balance - conun("3.6"));
    });
  });

  describe("without history", () => {
    let s: System;

    before(async () => {
      s = await startSystem();
      // Floors for 0.5 core × 30 s, +20 %: 0.018, 0.036 and 0.072 CONUN; one provider publishes none.
      for (const [i, floor] of ["0.001", "0.002", "0.004"].entries()) {
        await registerProvider(s.f.p, at(s.f.p.providers, i), {
          metadataURI: pricingMetadataURI({
            floorPerCpuSecond: floor,
            margin: 0.2,
            minPerTask: "0.01",
          }),
        });
      }
      await registerProvider(s.f.p, at(s.f.p.providers, 3));
      await s.indexer.sync();
    });
    after(() => s.stop());

    it("says so and names the price at which k providers' published floors would bid", async () => {
      const advice = await advisePrice(
        s.f.ctx,
        priceRequestOf(parseManifest(sourceManifest(), { form: "source" })),
        {
          subgraph: s.indexer.url,
        },
      );
      expect(advice.guidance.kind).to.equal("no-history");
      expect(advice.floors?.map((f) => f.floor)).to.deep.equal([
        conun("0.018"),
        conun("0.036"),
        conun("0.072"),
      ]);
      expect(advice.floorPrice).to.equal(conun("0.072"));
      const text = advice.lines.join("\n");
      expect(text).to.contain("no price history: no job of similar resources");
      expect(text).to.contain("--price <CONUN>");
      expect(text).to.contain(
        "at 0.072 CONUN k=3 of them would bid (--price 0.072, escrow 0.432 CONUN)",
      );
    });

    it("the task refuses to post, names the error and what to pass instead", async () => {
      const run = await runPostTask(s, ["--price", "auto", "--yes"]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain("[no-price-history]");
      expect(run.stderr).to.contain("--price 0.072");
      expect(await s.f.p.market.jobCount()).to.equal(0n);
    });
  });
});
