import { expect } from "chai";
import hre from "hardhat";

describe("conun:* Hardhat tasks", () => {
  it("registers every requester task with its options", () => {
    const expected: Record<string, string[]> = {
      "conun:post": ["manifest", "approval", "store", "account"],
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

  it("prints a one-line error naming the fix and exits 1 when CONUN is not deployed", async () => {
    const errors: string[] = [];
    const original = console.error;
    const previousExitCode = process.exitCode;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    try {
      // The in-process network is a fresh chain: whatever Ignition recorded for chain 31337
      // (nothing, or a local node's deployment) has no contracts on it.
      await hre.tasks.getTask("conun:status").run({ job: "", store: "", account: 0 });
      expect(process.exitCode).to.equal(1);
    } finally {
      console.error = original;
      process.exitCode = previousExitCode;
    }
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/\[wrong-network\]$/);
    expect(errors[0]).to.contain("deploy");
  });

  it("refuses a malformed job id before connecting", async () => {
    const errors: string[] = [];
    const original = console.error;
    const previousExitCode = process.exitCode;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    try {
      await hre.tasks.getTask("conun:cancel").run({ job: "abc", store: "", account: 0 });
      expect(process.exitCode).to.equal(1);
    } finally {
      console.error = original;
      process.exitCode = previousExitCode;
    }
    expect(errors[0]).to.contain('--job must be a job id (1, 2, …), got "abc"');
  });
});
