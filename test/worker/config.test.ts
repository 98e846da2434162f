import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ConfigError, loadConfig } from "../../worker/src/config/index.ts";

const DEV_KEY = `0x${"ab".repeat(32)}`;

/** A minimal valid configuration for the local chain. */
function base(overrides: Record<string, unknown> = {}) {
  return {
    rpcUrl: "http://127.0.0.1:8545",
    chainId: 31337,
    key: { devKey: DEV_KEY },
    contentStore: { kind: "local", dir: "content" },
    dataDir: "data",
    ...overrides,
  };
}

describe("loadConfig", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-config-"));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(config: unknown, name = "worker.json"): Promise<string> {
    const target = path.join(dir, name);
    await writeFile(target, JSON.stringify(config));
    return target;
  }

  async function problems(options: Parameters<typeof loadConfig>[0]): Promise<string[]> {
    const error = await loadConfig(options).catch((e: unknown) => e);
    expect(error, "loadConfig should have failed").to.be.instanceOf(ConfigError);
    expect((error as ConfigError).code).to.equal("config-invalid");
    return (error as ConfigError).problems;
  }

  it("fills defaults from the machine and resolves paths against the file's folder", async () => {
    const config = await loadConfig({ file: await file(base()), detectedGpus: 0 });
    expect(config.dataDir).to.equal(path.join(dir, "data"));
    expect(config.contentStore).to.deep.equal({ kind: "local", dir: path.join(dir, "content") });
    expect(config.capacity.slots).to.be.at.least(1);
    expect(config.capacity.cpuMillicores).to.equal(config.capacity.slots * 1000);
    expect(config.capacity.maxTaskReplicas).to.equal(config.capacity.slots * 32);
    expect(config.capacity.gpuCount).to.equal(0);
    expect(config.pricing).to.deep.equal({
      floorPerCpuSecond: "0.001",
      margin: 0.2,
      minPerTask: "0.01",
    });
    expect(config.dockerSocket).to.equal("/var/run/docker.sock");
    expect(config, "no test fault mode in the production config").to.not.have.property("fault");
    expect(config.metrics.port).to.equal(0);
  });

  it("lets environment variables override the file and flags override both", async () => {
    const config = await loadConfig({
      file: await file(base({ capacity: { slots: 2 } })),
      env: {
        CONUN_WORKER_SLOTS: "3",
        CONUN_WORKER_LOG_JSON: "true",
        CONUN_WORKER_PRICE_MARGIN: "0.5",
      },
      flags: { slots: "4", "log-level": "debug" },
    });
    expect(config.capacity.slots).to.equal(4);
    expect(config.log).to.deep.equal({ level: "debug", json: true });
    expect(config.pricing.margin).to.equal(0.5);
  });

  it("names the setting and its source when a value is out of range", async () => {
    expect(await problems({ file: await file(base({ capacity: { slots: 0 } })) })).to.deep.equal([
      "capacity.slots: must be ≥ 1",
    ]);
    expect(
      await problems({ file: await file(base()), env: { CONUN_WORKER_SLOTS: "0" } }),
    ).to.deep.equal(["capacity.slots: must be ≥ 1 (from CONUN_WORKER_SLOTS)"]);
    expect(
      await problems({ file: await file(base()), flags: { "metrics-port": "70000" } }),
    ).to.deep.equal(["metrics.port: must be ≤ 65535 (from --metrics-port)"]);
  });

  it("reports every bad setting at once, including missing ones and non-numbers", async () => {
    const found = await problems({
      env: { CONUN_WORKER_RPC_URL: "not a url", CONUN_WORKER_CHAIN_ID: "seven" },
    });
    expect(found).to.deep.equal([
      "rpcUrl: must be a URL (from CONUN_WORKER_RPC_URL)",
      "chainId: must be a number (from CONUN_WORKER_CHAIN_ID)",
      "contentStore: is required",
      "dataDir: is required",
    ]);
  });

  it("rejects unknown settings and malformed amounts", async () => {
    expect(
      await problems({ file: await file(base({ slots: 4, pricing: { minPerTask: "1,5" } })) }),
    ).to.deep.equal([
      'pricing.minPerTask: must be a decimal amount of CONUN, e.g. "1.5"',
      "slots: unknown setting",
    ]);
  });

  it("refuses a raw key on any chain but the local one", async () => {
    const found = await problems({ file: await file(base({ chainId: 11155111 })) });
    expect(found).to.deep.equal([
      "key.devKey: a raw key is only allowed on the local chain 31337; use key.keystore",
    ]);
  });

  it("has no cheating mode: a fault in the file is refused on every chain", async () => {
    for (const chainId of [31337, 11155111]) {
      expect(
        await problems({ file: await file(base({ chainId, fault: "wrong-results" })) }),
      ).to.deep.equal([
        "fault: not a setting; test fault modes run through worker/src/testing/faulty-worker.ts --fault <mode>",
      ]);
    }
  });

  it("requires a key source, and a password with a keystore", async () => {
    expect(await problems({ file: await file(base({ key: {} })) })).to.deep.equal([
      "key: needs key.keystore (with a password) or, on chain 31337, key.devKey",
    ]);
    expect(
      await problems({ file: await file(base({ key: { keystore: "k.json" } })) }),
    ).to.deep.equal([
      "key.password: is required with key.keystore: set CONUN_WORKER_KEYSTORE_PASSWORD, or key.passwordFile",
    ]);
  });

  it("says which file cannot be read or parsed", async () => {
    expect(await problems({ file: path.join(dir, "missing.json") })).to.deep.equal([
      `--config: cannot read ${path.join(dir, "missing.json")}`,
    ]);
    const broken = path.join(dir, "broken.json");
    await writeFile(broken, "{ not json");
    expect(await problems({ file: broken })).to.deep.equal([
      `--config: ${broken} is not valid JSON`,
    ]);
  });
});
