import { execFile } from "node:child_process";
import path from "node:path";
import { expect } from "chai";

const REPO = path.join(import.meta.dirname, "..", "..");
const BIN = path.join(REPO, "worker", "bin", "conun-worker");

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
