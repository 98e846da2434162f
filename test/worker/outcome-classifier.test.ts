// The task outcome as a pure function of what was observed (worker/src/execution/outcome.ts):
// no Docker here. test/worker/execution*.test.ts run the same rules against a real engine.
import { expect } from "chai";
import {
  classifyOutcome,
  discardsOutput,
  exitReason,
  needsOutputCheck,
  outputViolation,
  type RunFacts,
} from "../../worker/src/execution/outcome.ts";

const ran = (overrides: Partial<RunFacts> = {}): RunFacts => ({
  exitCode: 0,
  oomKilled: false,
  memoryMiB: 64,
  output: { ok: true },
  ...overrides,
});

describe("execution#classifyOutcome", () => {
  it("calls a clean exit with valid output a success", () => {
    expect(classifyOutcome(ran())).to.deep.equal({
      status: "succeeded",
      reason: "exited with code 0",
    });
  });

  it("calls a non-zero exit with valid output a failure, naming the code", () => {
    expect(classifyOutcome(ran({ exitCode: 127 }))).to.deep.equal({
      status: "failed",
      reason: "exited with code 127",
    });
  });

  it("reports an argv the image cannot execute as the job's failure, before anything else", () => {
    const outcome = classifyOutcome(
      ran({
        unstartable: 'exec: "nope": executable file not found in $PATH',
        exitCode: null,
        killed: { status: "cancelled", reason: "cancelled by the worker" },
        oomKilled: true,
      }),
    );
    expect(outcome).to.deep.equal({
      status: "failed",
      reason:
        'the command cannot be executed in this image: exec: "nope": executable file not found in $PATH',
    });
  });

  it("names the worker's kill rather than the exit code it left behind", () => {
    const killed = { status: "timed-out" as const, reason: "wall-clock timeout of 1 s exceeded" };
    expect(classifyOutcome(ran({ killed, exitCode: 137, oomKilled: true }))).to.deep.equal(killed);
  });

  it("reports the kernel's OOM kill with the memory limit, whatever the output", () => {
    expect(
      classifyOutcome(
        ran({
          oomKilled: true,
          exitCode: 137,
          output: { ok: false, status: "invalid-output", reason: "x" },
        }),
      ),
    ).to.deep.equal({
      status: "out-of-memory",
      reason: "killed for exceeding its memory limit of 64 MiB",
    });
  });

  it("lets a failed output check override even a clean exit", () => {
    const output = {
      ok: false as const,
      status: "output-too-large" as const,
      reason: "output is larger than 10 bytes",
    };
    expect(classifyOutcome(ran({ output }))).to.deep.equal({
      status: "output-too-large",
      reason: "output is larger than 10 bytes",
    });
  });

  it("treats output that was never checked as invalid, not as a success", () => {
    const { output: _, ...unchecked } = ran();
    expect(classifyOutcome(unchecked)).to.deep.equal({
      status: "invalid-output",
      reason: "output was not checked",
    });
  });
});

describe("execution#needsOutputCheck", () => {
  it("asks for the output check only when no earlier cause decides the outcome", () => {
    expect(needsOutputCheck(ran())).to.equal(true);
    expect(needsOutputCheck(ran({ exitCode: 1 }))).to.equal(true);
    expect(needsOutputCheck(ran({ oomKilled: true }))).to.equal(false);
    expect(needsOutputCheck(ran({ unstartable: "exec: x" }))).to.equal(false);
    expect(needsOutputCheck(ran({ killed: { status: "cancelled", reason: "r" } }))).to.equal(false);
  });
});

describe("execution#exitReason", () => {
  it("reads 153 as the file-size limit and codes above 128 as signals", () => {
    expect(exitReason(0)).to.equal("exited with code 0");
    expect(exitReason(2)).to.equal("exited with code 2");
    expect(exitReason(153)).to.equal("exited with code 153 (file size limit exceeded)");
    expect(exitReason(137)).to.equal("exited with code 137 (signal 9)");
  });
});

describe("execution#outputViolation", () => {
  const bounds = { maxBytes: 100, maxEntries: 5 };

  it("passes output within its bounds", () => {
    expect(outputViolation({ entries: 5, exceeded: false }, bounds)).to.equal(undefined);
  });

  it("kills a flood of files or of bytes as output-too-large, saying which", () => {
    expect(outputViolation({ entries: 6, exceeded: true }, bounds)).to.deep.equal({
      status: "output-too-large",
      reason: "output grew to more than 5 files and directories while running",
    });
    expect(outputViolation({ entries: 2, exceeded: true }, bounds)).to.deep.equal({
      status: "output-too-large",
      reason: "output grew to more than 100 bytes while running",
    });
  });

  it("kills output it cannot measure as invalid", () => {
    expect(
      outputViolation({ entries: 1, exceeded: false, unmeasurable: "cannot read /o/x" }, bounds),
    ).to.deep.equal({
      status: "invalid-output",
      reason: "output cannot be measured while running (cannot read /o/x)",
    });
  });
});

describe("execution#discardsOutput", () => {
  it("throws away oversized output and output killed as unmeasurable, keeps the rest", () => {
    const tooLarge = { status: "output-too-large" as const, reason: "r" };
    const unmeasurable = { status: "invalid-output" as const, reason: "r" };
    expect(discardsOutput(tooLarge, undefined)).to.equal(true);
    expect(discardsOutput(unmeasurable, unmeasurable)).to.equal(true);
    // Invalid after the run (a symlink, say): kept for the report until the job ends.
    expect(discardsOutput(unmeasurable, undefined)).to.equal(false);
    expect(discardsOutput({ status: "failed", reason: "r" }, undefined)).to.equal(false);
  });
});
