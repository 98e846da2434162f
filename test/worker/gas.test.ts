// A new provider's first start, as README and `conun-worker init` tell it: a Hardhat node in its
// own process standing in for the demo (its devnet record names it), `conun-worker init`, then
// `conun-worker run` on an account with nothing. The worker must say plainly what is missing
// (no ETH for gas; or, with gas, not enough CONUN to stake), wait, and carry on by itself once
// the faucet — the exact command it printed — has funded it. No Docker needed: registering
// and staking do not run containers.
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { formatEther, parseUnits, Wallet } from "ethers";
import { type LocalNode, ONE, startLocalNode } from "../../devnet/chain.ts";
import { WORKER_CLI, waitFor } from "../../devnet/workers.ts";
import { FAUCET_GAS_ETH, faucet } from "../../requester/manage.ts";
import { writeDevnet } from "../../sdk/devnet.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { spawnCollecting } from "../helpers/process.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const BIN = path.join(REPO, "worker", "bin", "conun-worker");
const PASSWORD = "provider password";

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

describe("a worker without funds", function () {
  this.timeout(240_000);
  let node: LocalNode;
  let dir: string;
  let env: Record<string, string>;
  const workers: Started[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-gas-"));
    node = await startLocalNode();
    const record = path.join(dir, "devnet.json");
    await writeDevnet(
      {
        chainId: node.chainId,
        rpcUrl: node.url,
        deployment: {
          token: node.deployment.token,
          registry: node.deployment.registry,
          market: node.deployment.market,
          startBlock: node.deployment.startBlock,
        },
        contentDir: path.join(dir, "content"),
        subgraphUrl: "http://127.0.0.1:9/subgraphs/name/conun",
        gatewayUrl: "http://127.0.0.1:9",
        appUrl: "http://127.0.0.1:9",
        // This test process stands in for the demo: the record is live while it runs.
        pid: process.pid,
        startedAt: new Date().toISOString(),
      },
      record,
    );
    // What a provider's shell has, plus the record standing in for the demo's.
    env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? dir,
      CONUN_DEVNET_FILE: record,
      CONUN_WORKER_KEYSTORE_PASSWORD: PASSWORD,
    };
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** `conun-worker init --dir <name>`; returns the new address and the config path. */
  const initProvider = (name: string) =>
    new Promise<{ address: string; config: string }>((resolve, reject) => {
      execFile(
        BIN,
        ["init", "--dir", path.join(dir, name)],
        { env, cwd: dir, timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error) return reject(new Error(`init failed: ${stderr}`));
          const address = /provider key (0x[0-9a-fA-F]{40})/.exec(stdout)?.[1];
          if (address === undefined) return reject(new Error(`no address in: ${stdout}`));
          resolve({ address, config: path.join(dir, name, "worker.jsonc") });
        },
      );
    });

  const runWorker = (config: string): Started => {
    const spawned = spawnCollecting(process.execPath, [WORKER_CLI, "run", "--config", config], {
      cwd: REPO,
      env: { ...env, CONUN_WORKER_DOCKER_SOCKET: path.join(dir, "no-docker.sock") },
    });
    const { child, output } = spawned;
    const exited = spawned.exited.then(({ code }) => code);
    const started: Started = {
      child,
      output,
      exited,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
    workers.push(started);
    return started;
  };

  /** Read straight from the node (ethers caches an identical read for a moment). */
  const ethOf = async (address: string) =>
    BigInt((await node.rpc("eth_getBalance", [address, "latest"])) as string);

  const registration = async (address: string) => {
    const registry = ProviderRegistry__factory.connect(node.deployment.registry, node.provider);
    return registry.getProvider(address);
  };

  it("says it has no ETH for gas, waits, and registers once the faucet it names has funded it", async () => {
    const { address, config } = await initProvider("no-gas");
    const worker = runWorker(config);
    const line = await waitFor(
      "the worker to say it has no gas",
      async () =>
        worker
          .output()
          .split("\n")
          .find((l) => l.includes("no ETH for gas")),
      60_000,
      () => worker.output(),
    );
    expect(line).to.contain(`no ETH for gas: ${address} holds 0.0 ETH and needs about`);
    const command =
      /fund it with the local faucet \(CONUN and ETH\): (npx hardhat conun:faucet --network localhost --to 0x[0-9a-fA-F]{40})/.exec(
        line,
      )?.[1];
    expect(command).to.equal(`npx hardhat conun:faucet --network localhost --to ${address}`);
    // Waiting, not failing: alive, nothing sent, no retries of a doomed register.
    expect(worker.child.exitCode).to.equal(null);
    expect((await registration(address)).registered).to.equal(false);
    expect(await node.provider.getTransactionCount(address)).to.equal(0);
    expect(worker.output()).to.not.match(/register and stake failed|could not coalesce/);

    // The command exactly as printed, as a provider would paste it (the record routes
    // `--network localhost` to this node).
    const faucetRun = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          "sh",
          ["-c", command as string],
          {
            cwd: REPO,
            env: { ...env, PATH: `${path.join(REPO, "node_modules", ".bin")}:${env.PATH}` },
            timeout: 120_000,
          },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
        );
      },
    );
    expect(faucetRun.code, faucetRun.stderr).to.equal(0);
    // The faucet sent from account 0 behind this test's nonce counter.
    node.signer(0).reset();
    expect(faucetRun.stdout).to.contain(`sent 1000.0 CONUN to ${address}`);
    expect(faucetRun.stdout).to.match(
      /sent 1\.0 ETH for gas \(tx 0x[0-9a-f]{64}\); it now holds 1\.0 ETH/,
    );

    await waitFor(
      "the worker to register and stake once funded",
      async () => {
        const info = await registration(address);
        return info.registered && info.stake === 100n * ONE;
      },
      60_000,
      () => worker.output(),
    );
    await waitFor("the worker to log the stake", async () =>
      worker.output().includes('staked amount="100.0 CONUN" stake="100.0 CONUN"'),
    );
    expect(worker.output()).to.contain(`funded: ${address} can pay for gas and stake; starting`);
    expect(worker.output().match(/no ETH for gas/g)).to.have.length(1);
    expect(await worker.stop()).to.equal(0);
  });

  it("with gas but too little CONUN to stake, says so and waits, then stakes when funded", async () => {
    const { address, config } = await initProvider("no-conun");
    await (await node.signer(0).sendTransaction({ to: address, value: ONE })).wait();
    const token = ConunToken__factory.connect(node.deployment.token, node.signer(0));
    await (await token.transfer(address, 40n * ONE)).wait();
    const worker = runWorker(config);
    const line = await waitFor(
      "the worker to say it lacks CONUN",
      async () =>
        worker
          .output()
          .split("\n")
          .find((l) => l.includes("not enough CONUN to stake")),
      60_000,
      () => worker.output(),
    );
    expect(line).to.contain(
      `not enough CONUN to stake: ${address} holds 40.0 CONUN and nothing staked, the stake target is 100.0 CONUN; ` +
        `fund it with the local faucet (CONUN and ETH): npx hardhat conun:faucet --network localhost --to ${address} (or lower stake.target)`,
    );
    expect(worker.child.exitCode).to.equal(null);
    expect((await registration(address)).registered).to.equal(false);

    const funded = await faucet(node.signer(0), node.deployment.token, address, "60");
    // It holds 1 ETH already: the faucet sends no more.
    expect(funded.gas.sent).to.equal(0n);
    await waitFor(
      "the worker to register and stake 100 CONUN",
      async () => (await registration(address)).stake === 100n * ONE,
      60_000,
      () => worker.output(),
    );
    expect(await worker.stop()).to.equal(0);
  });

  it("the faucet sends 1 ETH for gas to an account holding less, and none to one holding more", async () => {
    const poor = Wallet.createRandom().address;
    const first = await faucet(node.signer(0), node.deployment.token, poor, "5");
    expect(first.amount).to.equal(5n * ONE);
    expect(first.gas.sent).to.equal(FAUCET_GAS_ETH);
    expect(await ethOf(poor)).to.equal(FAUCET_GAS_ETH);
    expect(first.gas.balance).to.equal(FAUCET_GAS_ETH);
    const second = await faucet(node.signer(0), node.deployment.token, poor, "5");
    expect(second.gas.sent).to.equal(0n);
    expect(second.balance).to.equal(10n * ONE);
    expect(await ethOf(poor)).to.equal(FAUCET_GAS_ETH);

    const half = Wallet.createRandom().address;
    await (await node.signer(0).sendTransaction({ to: half, value: parseUnits("0.5", 18) })).wait();
    const topped = await faucet(node.signer(0), node.deployment.token, half, "1");
    expect(formatEther(topped.gas.sent)).to.equal("1.0");
    expect(formatEther(await ethOf(half))).to.equal("1.5");
  });
});
