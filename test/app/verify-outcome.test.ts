// The dApp's results check (sdk/results/job.ts, the parser the CLI uses) reads a task's outcome — exit
// code, stderr tail, reason — the way sdk/results does: through a real gateway, escaped and
// bounded, dropped when malformed, absent in older bundles, and flagged for failed, non-zero or
// empty-output tasks.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { gatewaySource } from "../../app/src/lib/gateway.ts";
import type { JobDetails } from "../../sdk/queries/jobs.ts";
import {
  describeOutcome,
  readBundle,
  verifyJobResults,
  writeBundle,
} from "../../sdk/results/index.ts";
import { controlCharacters } from "../helpers/text.ts";
import { useGatewayWorkspace } from "./gateway-workspace.ts";

const PROVIDER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

describe("verifyJobResults#task outcome", () => {
  const ws = useGatewayWorkspace("conun-verify-outcome-");

  /** Task 0 failed with stderr, task 1 succeeded with one empty file, task 2 with real output. */
  async function bundle(edit?: (results: Record<string, unknown>) => void) {
    const empty = path.join(ws.work, "empty");
    const full = path.join(ws.work, "full");
    await mkdir(empty);
    await mkdir(full);
    await writeFile(path.join(empty, "result.txt"), "");
    await writeFile(path.join(full, "result.txt"), "42\n");
    const dir = path.join(ws.work, "bundle");
    const { root } = await writeBundle({
      bundleDir: dir,
      jobId: 1,
      groupId: 0,
      provider: PROVIDER,
      tasks: [
        { index: 0, status: "failed", exitCode: 127, stderr: "\x1b[31msh: ech: not found\n" },
        { index: 1, status: "succeeded", outputDir: empty, exitCode: 0 },
        { index: 2, status: "succeeded", outputDir: full, exitCode: 0 },
      ],
    });
    if (edit !== undefined) {
      const file = path.join(dir, "results.json");
      const results = JSON.parse(await readFile(file, "utf8"));
      edit(results);
      await rm(file);
      await writeFile(file, JSON.stringify(results));
    }
    const cid = await ws.store.addDirectory(dir);
    const job = {
      groups: [
        {
          groupId: 0,
          taskStart: 0,
          taskCount: 3,
          outcome: "Agreed",
          winningRoot: root,
          members: [{ resultRoot: root, resultsCid: cid }],
        },
      ],
    } as unknown as JobDetails;
    return { dir, job };
  }

  it("reads the outcome as the CLI does and flags the failed and the empty task", async () => {
    const { dir, job } = await bundle();
    const check = await verifyJobResults(gatewaySource(ws.gateway.url), job);
    expect(check.ok).to.equal(true);
    const tasks = check.groups[0]?.tasks ?? [];
    const cli = (await readBundle(dir)).tasks;
    expect(tasks.map((t) => t.outcome)).to.deep.equal(
      cli.map(({ exitCode, stderrTail, reason }) =>
        JSON.parse(JSON.stringify({ exitCode, stderrTail, reason })),
      ),
    );
    expect(tasks.map((t) => t.attention)).to.deep.equal([
      "it ended failed",
      "its output files are all empty",
      undefined,
    ]);
    expect(describeOutcome(tasks[0]?.outcome, "the provider of bundle x")).to.deep.equal([
      "exit code 127 (reported by the provider of bundle x, not verified)",
      "stderr, last lines:",
      "| \\x1b[31msh: ech: not found",
    ]);
  });

  it("still verifies an older bundle without the fields", async () => {
    const { job } = await bundle((results) => {
      for (const task of results.tasks as Record<string, unknown>[]) {
        delete task.exitCode;
        delete task.stderrTail;
        delete task.reason;
      }
    });
    const check = await verifyJobResults(gatewaySource(ws.gateway.url), job);
    expect(check.ok).to.equal(true);
    expect(check.groups[0]?.tasks.map((t) => t.outcome)).to.deep.equal([{}, {}, {}]);
  });

  it("escapes, bounds or drops a hostile provider's outcome without refusing the bundle", async () => {
    const { job } = await bundle((results) => {
      const [first, second] = results.tasks as Record<string, unknown>[];
      if (first === undefined || second === undefined) throw new Error("no tasks");
      first.stderrTail = `\u202e\x1b]8;;http://evil\x07${"B".repeat(100_000)}`;
      first.exitCode = "127";
      second.reason = { html: "<script>" };
    });
    const check = await verifyJobResults(gatewaySource(ws.gateway.url), job);
    expect(check.ok).to.equal(true);
    const [first, second] = check.groups[0]?.tasks ?? [];
    expect(first?.outcome.exitCode).to.equal(undefined);
    expect(first?.outcome.stderrTail?.length).to.be.at.most(2048);
    expect(controlCharacters(first?.outcome.stderrTail ?? "")).to.deep.equal([]);
    expect(second?.outcome).to.deep.equal({ exitCode: 0 });
  });
});
