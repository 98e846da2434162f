import { expect } from "chai";
import hre from "hardhat";

describe("conun:* Hardhat tasks", () => {
  it("registers every requester task with its options", () => {
    const expected: Record<string, string[]> = {
      "conun:post": ["manifest", "approval", "price", "yes", "subgraph", "store", "account"],
      "conun:watch": ["job", "passive", "account"],
      "conun:results": ["job", "out", "store", "account"],
      "conun:cancel": ["job", "store", "account"],
      "conun:withdraw": ["store", "account"],
      "conun:status": ["job", "store", "account"],
      "conun:faucet": ["to", "amount"],
    };
    for (const [id, options] of Object.entries(expected)) {
      const task = hre.tasks.getTask(id);
      expect([...task.options.keys()], id).to.include.members(options);
    }
  });

  /** Runs a task that must fail: returns what it printed to stderr, after checking it set exit code 1. */
  async function runFailingTask(id: string, args: Record<string, unknown>): Promise<string[]> {
    const errors: string[] = [];
    const original = console.error;
    const previousExitCode = process.exitCode;
    console.error = (...printed: unknown[]) => errors.push(printed.join(" "));
    try {
      await hre.tasks.getTask(id).run(args);
      expect(process.exitCode).to.equal(1);
    } finally {
      console.error = original;
      process.exitCode = previousExitCode;
    }
    return errors;
  }

  it("prints a one-line error naming the fix and exits 1 when CONUN is not deployed", async () => {
    // The in-process network is a fresh chain: whatever Ignition recorded for chain 31337
    // (nothing, or a local node's deployment) has no contracts on it.
    const errors = await runFailingTask("conun:status", { job: "", store: "", account: 0 });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/\[wrong-network\]$/);
    expect(errors[0]).to.contain("deploy");
  });

  it("refuses a malformed job id before connecting", async () => {
    const errors = await runFailingTask("conun:cancel", { job: "abc", store: "", account: 0 });
    expect(errors[0]).to.contain('--job must be a job id (1, 2, …), got "abc"');
  });
});
