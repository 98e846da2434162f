import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDevnet } from "../../sdk/devnet.ts";
import { type ConunFixture, P1, P3, startConunFixture } from "../sdk/queries-fixtures.ts";
import { audit } from "./run-audit.ts";

describe("auditor/cli.ts", () => {
  let fixture: ConunFixture;
  let url: string;

  before(async () => {
    fixture = await startConunFixture();
    url = fixture.server.url;
  });
  after(async () => {
    await fixture.close();
  });

  it("prints a provider's stake, capabilities, work, earnings, slashes and recent bids", async () => {
    const run = await audit(["provider", P1.toUpperCase().replace("0X", "0x"), "--url", url]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`Subgraph ${url}`);
    expect(run.stdout).to.contain("Indexed up to block 41");
    expect(run.stdout).to.match(/Stake\s+1000\.0 CONUN/);
    expect(run.stdout).to.match(/locked\s+100\.0 CONUN/);
    expect(run.stdout).to.contain("4000 millicores CPU, 8192 MiB memory, 1 GPU(s)");
    expect(run.stdout).to.contain("assigned 4, settled 4, completed 3");
    expect(run.stdout).to.match(/Success rate\s+75\.00%/);
    expect(run.stdout).to.match(/Net earnings\s+29\.7 CONUN/);
    expect(run.stdout).to.match(/Slashes\s+1 \(5\.0 CONUN\)/);
    expect(run.stdout).to.match(/│ 2\s+│ Open\s+│ 25\.0 CONUN/);
    expect(run.stderr).to.equal("");
  });

  it("prints strings a provider chose (its metadata URI) escaped, never raw", async () => {
    const run = await audit(["provider", P3, "--url", url]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.not.contain("\u001b");
    expect(run.stdout).to.not.contain("\u0007");
    expect(run.stdout).to.contain("ipfs://meta\\x1b]0;pwned\\x07");
  });

  it("prints a job's spec, bids, groups with commits and reveals, payments and refunds", async () => {
    const run = await audit(["job", "1"], { env: { SUBGRAPH_URL: url } });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain("Job 1 — Finalized");
    expect(run.stdout).to.contain("2 task(s) × replication 3, quorum 2 → 6 task-replicas");
    expect(run.stdout).to.match(/Max price\s+10\.0 CONUN per task-replica/);
    expect(run.stdout).to.match(/Escrow\s+60\.0 CONUN/);
    expect(run.stdout).to.match(/Refunded\s+28\.0 CONUN/);
    expect(run.stdout).to.contain("Bids (3)");
    expect(run.stdout).to.contain("Group 0: tasks 0–1, Agreed, 2 of 3 agree on 0x77777777…7777");
    expect(run.stdout).to.contain("Slashed (WrongResult)");
    expect(run.stdout).to.match(/│ 0xa1\w+ │ 16\.0 CONUN │ 0\.16 CONUN │ 15\.84 CONUN/);
    expect(run.stdout).to.contain("Refunded to the requester for this group: 16.0 CONUN");
    expect(run.stdout).to.match(/│ In\s+│ EscrowDeposit/);
  });

  it("prints network totals and the last days, newest first", async () => {
    const run = await audit(["network", "--url", url, "--days", "1"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/Jobs\s+2 posted: 1 awarded, 1 finalized/);
    expect(run.stdout).to.match(/Total staked\s+2250\.0 CONUN/);
    expect(run.stdout).to.contain("Last 1 day(s) with activity");
    expect(run.stdout).to.contain("2024-10-05");
    expect(run.stdout).to.not.contain("2024-10-04 │");
  });

  it("fails clearly for an unknown job or provider", async () => {
    const job = await audit(["job", "99", "--url", url]);
    expect(job.code).to.equal(1);
    expect(job.stderr).to.contain(`job 99 is unknown to ${url}`);
    const provider = await audit(["provider", `0x${"0".repeat(40)}`, "--url", url]);
    expect(provider.code).to.equal(1);
    expect(provider.stderr).to.contain("is unknown to");
  });

  it("fails clearly when the subgraph URL is unreachable", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const dead = `http://127.0.0.1:${port}/subgraphs/name/conun`;
    const run = await audit(["network", "--url", dead]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain(`cannot reach subgraph ${dead}`);
    expect(run.stderr).to.contain("[subgraph-unreachable]");
  });

  it("rejects bad usage with exit code 2 and the usage text", async () => {
    const run = await audit(["job", "abc", "--url", url]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain("job needs a job id");
    expect(run.stderr).to.contain("Usage: npm run audit");
    expect((await audit(["frobnicate", "--url", url])).code).to.equal(2);
  });

  describe("with a running demo (its devnet record)", () => {
    let dir: string;
    let file: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), "conun-audit-devnet-"));
      file = path.join(dir, "devnet.json");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const record = (subgraphUrl: string, pid: number) =>
      writeDevnet(
        {
          chainId: 31337,
          rpcUrl: "http://127.0.0.1:1",
          deployment: {
            token: `0x${"11".repeat(20)}`,
            registry: `0x${"22".repeat(20)}`,
            market: `0x${"33".repeat(20)}`,
            startBlock: 0,
          },
          contentDir: path.join(dir, "content"),
          subgraphUrl,
          gatewayUrl: "http://127.0.0.1:2",
          appUrl: "http://127.0.0.1:3",
          pid,
          startedAt: new Date().toISOString(),
        },
        file,
      );

    it("reads the demo's subgraph URL when neither --url nor SUBGRAPH_URL is given", async () => {
      // This test process stands in for the demo: the record's pid is alive.
      await record(url, process.pid);
      const run = await audit(["job", "1"], { env: { CONUN_DEVNET_FILE: file } });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain(`Subgraph ${url}`);
      expect(run.stdout).to.contain("Job 1 — Finalized");
    });

    it("lets --url and SUBGRAPH_URL win over the record", async () => {
      await record("http://127.0.0.1:9/subgraphs/name/conun", process.pid);
      const byEnv = await audit(["job", "1"], {
        env: { CONUN_DEVNET_FILE: file, SUBGRAPH_URL: url },
      });
      expect(byEnv.code, byEnv.stderr).to.equal(0);
      expect(byEnv.stdout).to.contain(`Subgraph ${url}`);
      const byFlag = await audit(["job", "1", "--url", url], { env: { CONUN_DEVNET_FILE: file } });
      expect(byFlag.code, byFlag.stderr).to.equal(0);
      expect(byFlag.stdout).to.contain(`Subgraph ${url}`);
    });

    it("ignores a record whose demo is gone, with a warning, and falls back to port 8000", async () => {
      const exited = spawnSync(process.execPath, ["-e", ""]);
      expect(exited.status).to.equal(0);
      await record(url, exited.pid);
      const run = await audit(["job", "1", "--timeout", "2000"], {
        env: { CONUN_DEVNET_FILE: file },
      });
      expect(run.stderr).to.contain(`ignoring the stale devnet record ${file}`);
      expect(run.stderr).to.contain(`pid ${exited.pid}`);
      expect(`${run.stdout}${run.stderr}`).to.contain("127.0.0.1:8000");
      expect(run.stdout).not.to.contain(`Subgraph ${url}`);
    });

    it("names a malformed record and the fix", async () => {
      writeFileSync(file, "{ not json");
      const run = await audit(["job", "1"], { env: { CONUN_DEVNET_FILE: file } });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`${file} is not a valid devnet record (not JSON)`);
      expect(run.stderr).to.contain("delete the file");
    });
  });

  it("warns when the subgraph reports indexing errors, and still prints the report", async () => {
    fixture.store.recordIndexingError({ number: 41, hash: `0x${"41".repeat(32)}` }, "boom");
    const run = await audit(["network", "--url", url]);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain("CONUN network");
    expect(run.stderr).to.match(/warning: the subgraph reports indexing errors/);
  });
});
