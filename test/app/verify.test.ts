// The dApp's results check (sdk/results/job.ts over app/src/lib/gateway.ts) run in Node against a real gateway: it must
// agree with sdk/results (the CLI's rules) on hashes, layouts and verdicts.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { gatewaySource } from "../../app/src/lib/gateway.ts";
import type { JobDetails } from "../../sdk/queries/jobs.ts";
import {
  groupBundlePath,
  outputHash,
  outputHashOf,
  verifyJobResults,
  writeBundle,
} from "../../sdk/results/index.ts";
import { useGatewayWorkspace } from "./gateway-workspace.ts";

const PROVIDER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

describe("verifyJobResults", () => {
  const ws = useGatewayWorkspace("conun-verify-test-");

  async function output(name: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(ws.work, name);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    return dir;
  }

  /** A provider's revealed directory holding groups 0 (tasks 0–1) and 1 (task 2, failed). */
  async function twoGroupReveal(name: string, tamper = false) {
    const revealed = path.join(ws.work, name);
    const g0 = await writeBundle({
      bundleDir: groupBundlePath(revealed, 0, 2),
      jobId: 1,
      groupId: 0,
      provider: PROVIDER,
      tasks: [
        {
          index: 0,
          status: "succeeded",
          outputDir: await output(`${name}-o0`, { "a.txt": "zero\n" }),
        },
        {
          index: 1,
          status: "succeeded",
          outputDir: await output(`${name}-o1`, { "b/c.txt": "one\n", "é.txt": "accent\n" }),
        },
      ],
    });
    const g1 = await writeBundle({
      bundleDir: groupBundlePath(revealed, 1, 2),
      jobId: 1,
      groupId: 1,
      provider: PROVIDER,
      tasks: [{ index: 2, status: "failed" }],
    });
    if (tamper)
      await writeFile(
        path.join(groupBundlePath(revealed, 0, 2), "tasks", "1", "b", "c.txt"),
        "ONE\n",
      );
    return { cid: await ws.store.addDirectory(revealed), roots: [g0.root, g1.root] };
  }

  function job(
    groups: { root: string; cids: string[]; taskStart: number; taskCount: number }[],
  ): JobDetails {
    return {
      groups: groups.map((g, groupId) => ({
        groupId,
        taskStart: g.taskStart,
        taskCount: g.taskCount,
        outcome: "Agreed",
        winningRoot: g.root,
        members: g.cids.map((cid) => ({ resultRoot: g.root, resultsCid: cid })),
      })),
    } as unknown as JobDetails;
  }

  it("hashes an output exactly as sdk/results outputHash does", async () => {
    const dir = await output("hash", { "z.txt": "z", "a/b.bin": "ab", "é/x": "x", "B.txt": "" });
    const files = [
      { path: "z.txt", bytes: new TextEncoder().encode("z") },
      { path: "a/b.bin", bytes: new TextEncoder().encode("ab") },
      { path: "é/x", bytes: new TextEncoder().encode("x") },
      { path: "B.txt", bytes: new Uint8Array() },
    ];
    expect(await outputHashOf(files)).to.equal(await outputHash(dir));
  });

  it("verifies every task of a provider holding two groups, including a failed task's sentinel", async () => {
    const { cid, roots } = await twoGroupReveal("good");
    const check = await verifyJobResults(
      gatewaySource(ws.gateway.url),
      job([
        { root: roots[0] as string, cids: [cid], taskStart: 0, taskCount: 2 },
        { root: roots[1] as string, cids: [cid], taskStart: 2, taskCount: 1 },
      ]),
    );
    expect(check.ok).to.equal(true);
    const tasks = check.groups.flatMap((g) =>
      g.tasks.map((t) => [t.index, t.verdict, t.files.length]),
    );
    expect(tasks).to.deep.equal([
      [0, "verified", 1],
      [1, "verified", 2],
      [2, "verified", 0],
    ]);
    const file = check.groups[0]?.tasks[1]?.files.find((f) => f.path === "b/c.txt");
    expect(await (await fetch(file?.url as string)).text()).to.equal("one\n");
  });

  it("reports a file that differs from its claim as an output mismatch", async () => {
    const { cid, roots } = await twoGroupReveal("bad", true);
    const check = await verifyJobResults(
      gatewaySource(ws.gateway.url),
      job([{ root: roots[0] as string, cids: [cid], taskStart: 0, taskCount: 2 }]),
    );
    expect(check.ok).to.equal(false);
    expect(check.groups[0]?.tasks.map((t) => t.verdict)).to.deep.equal([
      "verified",
      "output-mismatch",
    ]);
  });

  it("falls back to another agreeing provider's bundle when the first one is bad", async () => {
    const bad = await twoGroupReveal("bad", true);
    const good = await twoGroupReveal("good");
    expect(bad.roots[0]).to.equal(good.roots[0]);
    const check = await verifyJobResults(
      gatewaySource(ws.gateway.url),
      job([
        { root: good.roots[0] as string, cids: [bad.cid, good.cid], taskStart: 0, taskCount: 2 },
      ]),
    );
    expect(check.ok).to.equal(true);
    expect(check.groups[0]?.resultsCid).to.equal(good.cid);
  });

  it("refuses a bundle whose claims are not under the on-chain root", async () => {
    const { cid } = await twoGroupReveal("other");
    const check = await verifyJobResults(
      gatewaySource(ws.gateway.url),
      job([{ root: `0x${"11".repeat(32)}`, cids: [cid], taskStart: 0, taskCount: 2 }]),
    );
    expect(check.ok).to.equal(false);
    expect(check.groups[0]?.rootMatches).to.equal(false);
    expect(check.groups[0]?.tasks.map((t) => t.verdict)).to.deep.equal([
      "not-in-root",
      "not-in-root",
    ]);
  });
});
