// SIGINT and SIGTERM sent to the npm process (what `kill -INT <pid>` of `npm run worker` does;
// a terminal's Ctrl-C signals the whole process group instead) must stop the worker and end its
// log with one line saying so. npm forwards both signals to the script's shell; the scripts
// `exec` node so that the signal reaches it rather than a shell that ignores or drops it.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { type Cluster, FIRST_PROVIDER, fundProviders, startCluster } from "../../devnet/cluster.ts";
import { waitFor, writeWorkerConfig } from "../../devnet/workers.ts";
import { spawnCollecting } from "../helpers/process.ts";

const REPO = path.join(import.meta.dirname, "..", "..");

/** PIDs of running processes whose command line contains `needle`. */
async function processesWith(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(needle)) found.push(Number(entry));
  }
  return found;
}

describe("npm run … stops on a signal sent to npm", function () {
  this.timeout(180_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster();
    await fundProviders(cluster, [FIRST_PROVIDER, FIRST_PROVIDER + 1]);
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const [signal, account] of [
    ["SIGINT", FIRST_PROVIDER],
    ["SIGTERM", FIRST_PROVIDER + 1],
  ] as const) {
    it(`${signal} to \`npm run worker\` stops the worker, which logs that it stopped`, async () => {
      const { configPath } = await writeWorkerConfig(cluster, {
        name: `npm-${signal}`,
        account,
        extra: { log: { level: "info", json: false } },
      });
      const {
        child: npm,
        output: printed,
        exited,
      } = spawnCollecting("npm", ["run", "-s", "worker", "--", "run", "--config", configPath], {
        cwd: REPO,
        env: { ...process.env, CONUN_WORKER_DEV_KEY: cluster.node.keys[account] ?? "" },
      });
      try {
        // Running for real: registered and staked, then idling on the chain.
        await waitFor(
          "the worker to register",
          async () => /registered/i.test(printed()),
          90_000,
          printed,
        );
        expect(await processesWith(configPath)).to.have.length.greaterThan(0);

        process.kill(npm.pid ?? -1, signal);
        const { code } = await Promise.race([
          exited,
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`npm did not exit after ${signal}:\n${printed()}`)),
              60_000,
            ),
          ),
        ]);
        const lastLine = printed().trimEnd().split("\n").at(-1) ?? "";
        expect(lastLine, printed()).to.match(/worker stopped/);
        expect(printed()).to.contain(`shutdown requested`);
        expect(code === 0 || code === null, `npm exit code ${code}`).to.equal(true);
        // Nothing the command started is left running.
        await waitFor(
          "every process of the worker to end",
          async () => (await processesWith(configPath)).length === 0,
          10_000,
        );
      } finally {
        if (npm.exitCode === null) npm.kill("SIGKILL");
        for (const pid of await processesWith(configPath)) process.kill(pid, "SIGKILL");
      }
    });
  }
});
