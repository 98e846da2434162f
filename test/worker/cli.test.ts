import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic } from "ethers";
import { network } from "hardhat";
import { commitAll, ONE, revealAll } from "../../devnet/protocol.ts";
import { Journal, type JournalEvent } from "../../worker/src/journal/index.ts";
import type { WorkerStatus } from "../../worker/src/status.ts";
import { awardOneTaskJob } from "../helpers/market.ts";
import { serveOverHttp } from "../helpers/subgraph-host.ts";
import { controlCharacters } from "../helpers/text.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const BIN = path.join(REPO, "worker", "bin", "conun-worker");
/** A journaled note holding terminal escapes and a bidi override, as a hostile job's text may. */
const HOSTILE_NOTE = "refused \u001b[2J\u202eevil";
/** The accounts of Hardhat's in-process network. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Runs the `conun-worker` shim; resolves with the exit code and output. */
function conunWorker(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      BIN,
      args,
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("conun-worker (command line)", function () {
  this.timeout(60_000);

  it("prints its usage, listing every flag with its environment variable", async () => {
    const { code, stdout } = await conunWorker(["--help"]);
    expect(code).to.equal(0);
    expect(stdout).to.contain("usage: conun-worker <init|run|status>");
    expect(stdout).to.contain("--import-key-from-env");
    expect(stdout).to.contain("--slots");
    expect(stdout).to.contain("CONUN_WORKER_SLOTS");
  });

  it("exits with 2 and names each bad setting", async () => {
    const { code, stderr } = await conunWorker(["run", "--slots", "0", "--data-dir", "/tmp/x"], {
      CONUN_WORKER_RPC_URL: "http://127.0.0.1:8545",
      CONUN_WORKER_CHAIN_ID: "31337",
      CONUN_WORKER_DEV_KEY: `0x${"11".repeat(32)}`,
      CONUN_WORKER_CONTENT_DIR: "/tmp/content",
    });
    expect(code).to.equal(2);
    expect(stderr).to.contain("capacity.slots: must be ≥ 1 (from --slots)");
  });

  it("exits with 2 on an unknown command or flag", async () => {
    expect((await conunWorker(["dance"])).code).to.equal(2);
    const { code, stderr } = await conunWorker(["run", "--no-such-flag"]);
    expect(code).to.equal(2);
    expect(stderr).to.contain("no-such-flag");
  });
});

describe("faulty-worker (test faults, outside the production config)", function () {
  this.timeout(60_000);
  const FAULTY = path.join(REPO, "worker", "src", "testing", "faulty-worker.ts");
  const NODE = path.join(REPO, "node_modules", ".bin", "node");
  const faulty = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        NODE,
        [FAULTY, ...args],
        { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 },
        (error, _stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
          resolve({ code, stderr });
        },
      );
    });

  it("names the fault modes when none or an unknown one is given", async () => {
    for (const args of [["run"], ["--fault", "be-nice", "run"]]) {
      const { code, stderr } = await faulty(args);
      expect(code).to.equal(2);
      expect(stderr).to.contain("--fault <none|wrong-results|stall-after-commit|crash-after-bid");
    }
  });

  it("refuses a fault on any chain but the local one, before connecting anywhere", async () => {
    const { code, stderr } = await faulty(["--fault", "wrong-results", "run"], {
      CONUN_WORKER_RPC_URL: "http://127.0.0.1:1",
      CONUN_WORKER_CHAIN_ID: "11155111",
      CONUN_WORKER_KEYSTORE: "/nonexistent/keystore.json",
      CONUN_WORKER_KEYSTORE_PASSWORD: "x",
      CONUN_WORKER_CONTENT_DIR: "/tmp/content",
      CONUN_WORKER_DATA_DIR: "/tmp/conun-faulty-data",
    });
    expect(code).to.equal(2);
    expect(stderr).to.contain("--fault: is a test-only option, refused on chains other than 31337");
  });

  it("is no flag of the production CLI", async () => {
    const { code, stderr } = await conunWorker(["run", "--fault", "wrong-results"]);
    expect(code).to.equal(2);
    expect(stderr).to.contain("fault");
  });
});

describe("conun-worker status (against a chain)", function () {
  this.timeout(120_000);

  it("shows gas, CONUN, stake with unbonding, a slash with its reason, and each job's chain state", async () => {
    // A real chain served over HTTP: a 1 × 3 job in which provider c revealed a wrong root and
    // was slashed at finalization; c then asked to unstake 1 CONUN.
    const connection = await network.create({ chainType: "l1" });
    const { p, jobId, a, b, c } = await awardOneTaskJob(connection, ONE / 2n);
    await commitAll(connection, p, jobId, a);
    await commitAll(connection, p, jobId, b);
    await commitAll(connection, p, jobId, c, 1);
    for (const m of [a, b]) await revealAll(connection, p, jobId, m);
    await revealAll(connection, p, jobId, c, 1);
    await p.market.finalize(jobId);
    await p.registry.connect(c).requestUnstake(ONE);
    const bridge = await serveOverHttp(connection);
    const dir = await mkdtemp(path.join(tmpdir(), "conun-status-"));
    try {
      // c's key: the in-process network's accounts are Hardhat's development mnemonic.
      const index = (await connection.ethers.getSigners()).findIndex(
        (s) => s.address === c.address,
      );
      const key = HDNodeWallet.fromMnemonic(
        Mnemonic.fromPhrase(DEV_MNEMONIC),
        `m/44'/60'/0'/0/${index}`,
      ).privateKey;
      // c's journal: it bid, was awarded, committed and revealed, and has not claimed yet.
      const dataDir = path.join(dir, "data");
      const { journal } = await Journal.open(path.join(dataDir, "journal.jsonl"));
      const id = jobId.toString();
      for (const event of [
        { type: "bid-intent", jobId: id, price: (ONE / 2n).toString(), capacity: 1 },
        { type: "bid-placed", jobId: id },
        {
          type: "awarded",
          jobId: id,
          memberships: [{ groupId: 0, taskStart: 0, taskCount: 1 }],
          commitDeadline: "0",
          revealDeadline: "0",
        },
        { type: "committed", jobId: id },
        { type: "revealed", jobId: id },
        // A note quoting the job's own text (here terminal escapes and a bidi override).
        { type: "closed", jobId: id, reason: HOSTILE_NOTE },
      ] as const) {
        await journal.append(event as JournalEvent);
      }
      await journal.close();
      const config = path.join(dir, "worker.json");
      await writeFile(
        config,
        JSON.stringify({
          rpcUrl: bridge.url,
          chainId: 31337,
          contracts: {
            token: await p.token.getAddress(),
            registry: await p.registry.getAddress(),
            market: await p.market.getAddress(),
            startBlock: 0,
          },
          contentStore: { kind: "local", dir: path.join(dir, "content") },
          dataDir,
        }),
      );
      const env = { CONUN_WORKER_DEV_KEY: key, CONUN_DEVNET_FILE: path.join(dir, "none.json") };

      const json = await conunWorker(["status", "--config", config, "--json"], env);
      expect(json.code, json.stderr).to.equal(0);
      const status = JSON.parse(json.stdout) as WorkerStatus;
      expect(status.address).to.equal(c.address);
      expect(status.registered).to.equal(true);
      expect(Number(status.ethBalance)).to.be.greaterThan(0);
      expect(status.stake).to.deep.include({
        total: "9997.0",
        locked: "0.0",
        free: "9997.0",
        unbonding: "1.0",
      });
      expect(status.stake.unbondingReleaseAt).to.match(/^\d{4}-\d\d-\d\dT/);
      expect(status.slashes).to.have.length(1);
      expect(status.slashes[0]).to.deep.include({
        jobId: id,
        groupId: 0,
        amount: "2.0",
        reason: "wrong result",
      });
      expect(status.slashedTotal).to.equal("2.0");
      expect(status.jobs).to.deep.equal([
        {
          jobId: id,
          phase: "closed",
          onChain: "Finalized",
          tasks: 1,
          succeeded: 0,
          reason: HOSTILE_NOTE,
          slashed: "2.0 (wrong result)",
        },
      ]);
      // The JSON means the same but carries no raw control or bidi character.
      expect(controlCharacters(json.stdout, { multiline: true })).to.deep.equal([]);

      const text = await conunWorker(["status", "--config", config], env);
      expect(text.code, text.stderr).to.equal(0);
      const lines = text.stdout.split("\n");
      expect(lines[1]).to.match(/^gas {8}\d+\.\d+ ETH$/);
      expect(lines).to.include(
        "stake      9997.0 CONUN (free 9997.0, locked 0.0, unbonding 1.0 until " +
          `${status.stake.unbondingReleaseAt})`,
      );
      expect(lines).to.include("slashes    1, 2.0 CONUN in all");
      expect(
        lines.some((l) => l.startsWith(`  job ${id} group 0: 2.0 CONUN, wrong result (block `)),
      ).to.equal(true);
      expect(lines).to.include(
        `${id.padEnd(7)} closed       Finalized       1   0        - refused \\x1b[2J\\u202eevil; slashed 2.0 (wrong result)`,
      );
      expect(controlCharacters(text.stdout, { multiline: true })).to.deep.equal([]);
    } finally {
      await bridge.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
