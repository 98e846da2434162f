// `conun-worker init`, run as a provider runs it (the worker/bin shim, a real process): the
// keystore it writes decrypts with the password, the worker's own loader accepts the config,
// an existing key is never replaced without --force (and then kept), and without a password
// and a terminal it refuses before writing anything.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { writeDevnet } from "../../sdk/devnet.ts";
import { loadConfig } from "../../worker/src/config/index.ts";
import { stripJsonComments } from "../../worker/src/config/jsonc.ts";
import { loadWallet } from "../../worker/src/daemon.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const BIN = path.join(REPO, "worker", "bin", "conun-worker");
const PASSWORD = "correct horse battery";
/** Hardhat's first development account: well known, local chains only. */
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("conun-worker init", function () {
  this.timeout(120_000);
  let dir: string;
  /** A devnet record path nobody writes, so a demo running on this machine cannot leak in. */
  let noDevnet: string;

  const init = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Run>((resolve) => {
      execFile(
        BIN,
        ["init", ...args],
        {
          cwd: dir,
          env: { PATH: process.env.PATH ?? "", CONUN_DEVNET_FILE: noDevnet, ...env },
          timeout: 60_000,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-init-"));
    noDevnet = path.join(dir, "no-devnet.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a keystore that decrypts with the password and a config the worker loads", async () => {
    const out = path.join(dir, "provider");
    const run = await init(["--dir", out], { CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD });
    expect(run.code, run.stderr).to.equal(0);
    const address = /provider key (0x[0-9a-fA-F]{40}) for chain 31337/.exec(run.stdout)?.[1];
    expect(address, run.stdout).to.be.a("string");
    expect(run.stdout).to.not.contain(PASSWORD);

    const keystore = await readFile(path.join(out, "keystore.json"), "utf8");
    expect(keystore).to.not.contain(PASSWORD);
    const decrypted = await Wallet.fromEncryptedJson(keystore, PASSWORD);
    expect(decrypted.address).to.equal(address);

    const configFile = path.join(out, "worker.jsonc");
    const text = await readFile(configFile, "utf8");
    expect(text).to.match(/^\/\/ conun-worker configuration for chain 31337/);
    const config = await loadConfig({
      file: configFile,
      env: { CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD },
      devnet: null,
    });
    expect(config.chainId).to.equal(31337);
    expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
    expect(config.key.keystore).to.equal(path.join(out, "keystore.json"));
    expect(config.dataDir).to.equal(path.join(out, "data"));
    expect(config.contentStore).to.deep.equal({
      kind: "local",
      dir: path.join(dir, ".conun", "content"),
    });
    expect((await loadWallet(config)).address).to.equal(address);

    // The next steps: the exact faucet command, then how to start it.
    expect(run.stdout).to.contain(`npx hardhat conun:faucet --network localhost --to ${address}`);
    expect(run.stdout).to.contain(`npm run worker -- run --config ${configFile}`);
  });

  it("refuses to replace an existing keystore, and with --force keeps the old one aside", async () => {
    const out = path.join(dir, "provider");
    const env = { CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD };
    expect((await init(["--dir", out], env)).code).to.equal(0);
    const first = await readFile(path.join(out, "keystore.json"), "utf8");

    const again = await init(["--dir", out], env);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.contain(
      `${path.join(out, "keystore.json")} and ${path.join(out, "worker.jsonc")} already exist: refusing to replace a provider's key`,
    );
    expect(again.stderr).to.contain("--force");
    expect(await readFile(path.join(out, "keystore.json"), "utf8")).to.equal(first);

    const forced = await init(["--dir", out, "--force"], env);
    expect(forced.code, forced.stderr).to.equal(0);
    const second = await readFile(path.join(out, "keystore.json"), "utf8");
    expect(second).to.not.equal(first);
    const kept = (await readdir(out)).filter((name) => name.startsWith("keystore.json.replaced-"));
    expect(kept).to.have.length(1);
    expect(await readFile(path.join(out, kept[0] as string), "utf8")).to.equal(first);
    expect(forced.stdout).to.contain(`kept      ${path.join(out, kept[0] as string)}`);
  });

  it("refuses without a password and a terminal, writing nothing", async () => {
    const out = path.join(dir, "provider");
    const run = await init(["--dir", out]);
    expect(run.code).to.equal(2);
    expect(run.stderr.trim()).to.equal(
      "conun-worker init: init needs a password to encrypt the key: set CONUN_WORKER_KEYSTORE_PASSWORD, or run it in a terminal to be asked",
    );
    expect(await readdir(dir)).to.deep.equal([]);
    const short = await init(["--dir", out], { CONUN_WORKER_KEYSTORE_PASSWORD: "short" });
    expect(short.code).to.equal(2);
    expect(short.stderr).to.contain("at least 8 characters");
  });

  it("takes the chain, contracts, content store and subgraph from a running demo's record", async () => {
    const record = path.join(dir, "devnet.json");
    const deployment = {
      token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      market: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
      startBlock: 1,
    };
    await writeDevnet(
      {
        chainId: 31337,
        rpcUrl: "http://127.0.0.1:48545",
        deployment,
        contentDir: path.join(dir, "demo-content"),
        subgraphUrl: "http://127.0.0.1:48000/subgraphs/name/conun",
        gatewayUrl: "http://127.0.0.1:48001",
        appUrl: "http://127.0.0.1:48002",
        // This process stands in for the demo: the record is live while it runs.
        pid: process.pid,
        startedAt: new Date().toISOString(),
      },
      record,
    );
    const out = path.join(dir, "provider");
    const run = await init(["--dir", out], {
      CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD,
      CONUN_DEVNET_FILE: record,
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain("chain, contracts and content store from the running demo");
    const config = await loadConfig({
      file: path.join(out, "worker.jsonc"),
      env: { CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD },
      devnet: null,
    });
    expect(config.rpcUrl).to.equal("http://127.0.0.1:48545");
    expect(config.contracts).to.deep.equal(deployment);
    expect(config.contentStore).to.deep.equal({
      kind: "local",
      dir: path.join(dir, "demo-content"),
    });
    expect(config.subgraphUrl).to.equal("http://127.0.0.1:48000/subgraphs/name/conun");
  });

  it("imports a key from the environment, never from a flag", async () => {
    const out = path.join(dir, "provider");
    const run = await init(["--dir", out, "--import-key-from-env"], {
      CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD,
      CONUN_WORKER_IMPORT_KEY: DEV_KEY,
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain(`provider key ${DEV_ADDRESS}`);
    expect(run.stdout).to.not.contain(DEV_KEY.slice(2));
    const keystore = await readFile(path.join(out, "keystore.json"), "utf8");
    expect((await Wallet.fromEncryptedJson(keystore, PASSWORD)).address).to.equal(DEV_ADDRESS);

    const missing = await init(["--dir", path.join(dir, "other"), "--import-key-from-env"], {
      CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD,
    });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain("set CONUN_WORKER_IMPORT_KEY");
    const flag = await init(["--dir", path.join(dir, "other"), "--key", DEV_KEY]);
    expect(flag.code).to.equal(2);
  });

  it("writes a config for another chain with its RPC URL, and names what is missing", async () => {
    const out = path.join(dir, "sepolia");
    const env = { CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD };
    const noRpc = await init(["--chain", "sepolia", "--dir", out], env);
    expect(noRpc.code).to.equal(2);
    expect(noRpc.stderr).to.contain("chain 11155111 needs its JSON-RPC endpoint: pass --rpc <url>");
    const bad = await init(["--chain", "mars", "--dir", out], env);
    expect(bad.stderr).to.contain("--chain mars: give localhost, sepolia or a chain id");

    const run = await init(["--chain", "sepolia", "--dir", out], {
      ...env,
      CONUN_WORKER_RPC_URL: "https://sepolia.example/rpc/secret-key",
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain("fund it on chain 11155111");
    expect(run.stdout).to.not.contain("conun:faucet");
    const config = await loadConfig({
      file: path.join(out, "worker.jsonc"),
      env,
      devnet: null,
    });
    expect(config.chainId).to.equal(11155111);
    expect(config.rpcUrl).to.equal("https://sepolia.example/rpc/secret-key");
    expect(config.contentStore).to.deep.equal({ kind: "local", dir: path.join(out, "content") });
  });
});

describe("stripJsonComments", () => {
  it("blanks // and /* */ comments outside strings and keeps strings whole", () => {
    const text = [
      "// heading",
      '{ "url": "http://a//b", /* inline */ "q": "say \\"//\\" here",',
      '  "n": 1 // trailing',
      "}",
    ].join("\n");
    expect(JSON.parse(stripJsonComments(text))).to.deep.equal({
      url: "http://a//b",
      q: 'say "//" here',
      n: 1,
    });
    expect(stripJsonComments(text).split("\n")).to.have.length(4);
  });

  it("lets the worker's loader read a commented file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "conun-jsonc-"));
    try {
      const file = path.join(dir, "worker.jsonc");
      await writeFile(
        file,
        '// test\n{ "rpcUrl": "http://127.0.0.1:8545", /* local */ "chainId": 31337,\n "key": { "devKey": "0x' +
          "11".repeat(32) +
          '" }, "contentStore": { "dir": "c" }, "dataDir": "d" }\n',
      );
      const config = await loadConfig({ file, env: {}, devnet: null });
      expect(config.rpcUrl).to.equal("http://127.0.0.1:8545");
      expect(config.dataDir).to.equal(path.join(dir, "d"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
