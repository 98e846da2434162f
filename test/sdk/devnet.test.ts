// The devnet record (sdk/devnet.ts) and the tools' defaults drawn from it: the requester's
// content store, the worker's chain settings. Real files, real process ids.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { resolveStoreDir } from "../../requester/context.ts";
import {
  DevnetError,
  type DevnetRecord,
  devnetFile,
  readDevnet,
  removeDevnet,
  sameRpcUrl,
  writeDevnet,
} from "../../sdk/devnet.ts";
import { ConfigError, loadConfig } from "../../worker/src/config/index.ts";

/** The id of a process that has exited: what a demo killed with SIGKILL leaves behind. */
function deadPid(): number {
  const exited = spawnSync(process.execPath, ["-e", ""]);
  if (exited.status !== 0) throw new Error("could not run a short process");
  return exited.pid;
}

describe("sdk/devnet", () => {
  let dir: string;
  let file: string;
  const record = (overrides: Partial<DevnetRecord> = {}): Omit<DevnetRecord, "version"> => ({
    chainId: 31337,
    rpcUrl: "http://127.0.0.1:18545",
    deployment: {
      token: `0x${"11".repeat(20)}`,
      registry: `0x${"22".repeat(20)}`,
      market: `0x${"33".repeat(20)}`,
      startBlock: 3,
    },
    contentDir: path.join(dir, "content"),
    subgraphUrl: "http://127.0.0.1:18000/subgraphs/name/conun",
    gatewayUrl: "http://127.0.0.1:18001",
    appUrl: "http://127.0.0.1:18002",
    // This test process stands in for the demo: alive for as long as the test runs.
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...overrides,
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "conun-devnet-"));
    file = path.join(dir, "devnet.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe("writeDevnet / readDevnet", () => {
    it("reads back a record whose process is alive", async () => {
      await writeDevnet(record(), file);
      const read = readDevnet({ file });
      expect(read).to.deep.equal({ version: 1, ...record(), startedAt: read?.startedAt });
    });

    it("returns nothing when there is no record", () => {
      expect(readDevnet({ file })).to.equal(undefined);
    });

    it("ignores a stale record (its process is gone) with a warning naming the file and pid", async () => {
      const pid = deadPid();
      await writeDevnet(record({ pid }), file);
      const warnings: string[] = [];
      expect(readDevnet({ file, warn: (m) => warnings.push(m) })).to.equal(undefined);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain(`ignoring the stale devnet record ${file}`);
      expect(warnings[0]).to.contain(`pid ${pid}`);
      expect(warnings[0]).to.contain("npm run demo -- --keep");
    });

    it("rejects a malformed file with one line naming the file, the problem and the fix", () => {
      const problem = (text: string) => {
        writeFileSync(file, text);
        try {
          readDevnet({ file });
        } catch (error) {
          expect(error).to.be.instanceOf(DevnetError);
          expect((error as DevnetError).code).to.equal("devnet-invalid");
          const message = (error as Error).message;
          expect(message).to.contain(`${file} is not a valid devnet record`);
          expect(message).to.contain("delete the file");
          expect(message).not.to.contain("\n");
          return message;
        }
        throw new Error("readDevnet accepted a malformed record");
      };
      expect(problem("{ nope")).to.contain("(not JSON)");
      expect(problem("[]")).to.contain("(not a JSON object)");
      expect(problem(JSON.stringify({ ...record(), version: 2 }))).to.contain(
        "version must be 1, got 2",
      );
      const valid = { version: 1, ...record() };
      expect(problem(JSON.stringify({ ...valid, rpcUrl: "127.0.0.1:8545" }))).to.contain(
        'rpcUrl must be an http(s) URL, got "127.0.0.1:8545"',
      );
      expect(
        problem(JSON.stringify({ ...valid, deployment: { ...valid.deployment, market: "0x12" } })),
      ).to.contain('deployment.market must be a 0x address, got "0x12"');
      expect(problem(JSON.stringify({ ...valid, contentDir: "relative/dir" }))).to.contain(
        "contentDir must be an absolute path",
      );
      expect(problem(JSON.stringify({ ...valid, pid: "12" }))).to.contain(
        'pid must be a whole number, got "12"',
      );
    });

    it("refuses to write an invalid record", async () => {
      const error = await writeDevnet(record({ rpcUrl: "nowhere" }), file).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(DevnetError);
      expect(existsSync(file)).to.equal(false);
    });

    it("is found through CONUN_DEVNET_FILE", async () => {
      await writeDevnet(record(), file);
      expect(devnetFile({ CONUN_DEVNET_FILE: file })).to.equal(file);
      expect(readDevnet({ env: { CONUN_DEVNET_FILE: file } })?.rpcUrl).to.equal(
        "http://127.0.0.1:18545",
      );
    });
  });

  describe("removeDevnet", () => {
    it("removes only the record of the given process", async () => {
      await writeDevnet(record({ pid: deadPid() }), file);
      expect(removeDevnet(file, process.pid)).to.equal(false);
      expect(existsSync(file)).to.equal(true);
      await writeDevnet(record(), file);
      expect(removeDevnet(file, process.pid)).to.equal(true);
      expect(existsSync(file)).to.equal(false);
      expect(removeDevnet(file, process.pid)).to.equal(false);
    });
  });

  it("compares RPC URLs up to a trailing slash and localhost", () => {
    expect(sameRpcUrl("http://localhost:8545/", "http://127.0.0.1:8545")).to.equal(true);
    expect(sameRpcUrl("http://127.0.0.1:8545", "http://127.0.0.1:8546")).to.equal(false);
  });

  describe("the requester's content store default", () => {
    it("is the demo's store, after --store and CONUN_CONTENT_DIR", async () => {
      const demo = { version: 1 as const, ...record() };
      expect(resolveStoreDir(undefined, {}, demo)).to.equal(demo.contentDir);
      expect(resolveStoreDir("/srv/flag", { CONUN_CONTENT_DIR: "/srv/env" }, demo)).to.equal(
        "/srv/flag",
      );
      expect(resolveStoreDir(undefined, { CONUN_CONTENT_DIR: "/srv/env" }, demo)).to.equal(
        "/srv/env",
      );
      expect(resolveStoreDir(undefined, {})).to.equal(path.resolve(".conun/content"));
    });
  });

  describe("the worker's configuration", () => {
    const env = () => ({ CONUN_DEVNET_FILE: file, CONUN_WORKER_DEV_KEY: `0x${"ab".repeat(32)}` });

    it("takes the chain, contracts, content store and subgraph from a running demo", async () => {
      await writeDevnet(record(), file);
      const config = await loadConfig({ env: env(), flags: { "data-dir": dir } });
      expect(config.rpcUrl).to.equal("http://127.0.0.1:18545");
      expect(config.chainId).to.equal(31337);
      expect(config.contracts).to.deep.equal(record().deployment);
      expect(config.contentStore).to.deep.equal({ kind: "local", dir: path.join(dir, "content") });
      expect(config.subgraphUrl).to.equal("http://127.0.0.1:18000/subgraphs/name/conun");
    });

    it("lets the file, the environment and flags win", async () => {
      await writeDevnet(record(), file);
      const configFile = path.join(dir, "worker.json");
      writeFileSync(configFile, JSON.stringify({ contentStore: { kind: "local", dir: "mine" } }));
      const config = await loadConfig({
        file: configFile,
        env: { ...env(), CONUN_WORKER_SUBGRAPH_URL: "http://127.0.0.1:9/subgraphs/name/conun" },
        flags: { "data-dir": dir, "rpc-url": "http://localhost:18545/" },
      });
      expect(config.rpcUrl).to.equal("http://localhost:18545/");
      expect(config.contentStore).to.deep.equal({ kind: "local", dir: path.join(dir, "mine") });
      expect(config.subgraphUrl).to.equal("http://127.0.0.1:9/subgraphs/name/conun");
      expect(config.contracts?.market).to.equal(record().deployment.market);
    });

    it("takes nothing from the demo when configured for another chain", async () => {
      await writeDevnet(record(), file);
      const error = await loadConfig({
        env: { ...env(), CONUN_WORKER_RPC_URL: "https://rpc.sepolia.example" },
        flags: { "data-dir": dir, "chain-id": "11155111" },
      }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.deep.equal(["contentStore: is required"]);
    });

    it("fails on a malformed record with an error about the record", async () => {
      writeFileSync(file, "{");
      const error = await loadConfig({ env: env(), flags: { "data-dir": dir } }).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.have.length(1);
      expect((error as ConfigError).problems[0]).to.contain(`devnet record: ${file} is not a`);
    });

    it("ignores a stale record and asks for the settings", async () => {
      await writeDevnet(record({ pid: deadPid() }), file);
      const error = await loadConfig({ env: env(), flags: { "data-dir": dir } }).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.include("rpcUrl: is required");
      expect(readFileSync(file, "utf8")).to.contain('"pid"');
    });
  });
});
