// Results of providers holding several replica groups of one job. The contract takes one
// results CID per provider per job, so such a provider reveals a folder of `group-<id>/`
// bundles (sdk/results layout.ts); these tests write bundles exactly as the worker does, store
// them in a real content store, run the job on a real chain, and let fetchResults read them.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { registerProviders } from "../../devnet/protocol.ts";
import { fetchResults } from "../../requester/results.ts";
import type { ConunError } from "../../sdk/errors.ts";
import {
  findGroupBundle,
  groupBundlePath,
  verifyBundle,
  writeBundle,
} from "../../sdk/results/index.ts";
import {
  commitRevealFinalize,
  freshRequesterFixture,
  type ProviderReveal,
  postAndAward,
  type RequesterFixture,
} from "./fixtures.ts";

describe("fetchResults (providers holding several replica groups)", () => {
  let f: RequesterFixture;
  /** Capacities 2, 2, 1, 1 for 2 tasks × k=3: the first two sit in both groups. */
  let providers: HardhatEthersSigner[];

  beforeEach(async () => {
    f = await freshRequesterFixture();
    providers = f.p.providers.slice(0, 4);
    await registerProviders(f.p, providers);
  });
  afterEach(() => f.cleanup());

  interface Behaviour {
    text: string;
    /** Groups left out of the revealed directory although their roots are committed. */
    omitGroups?: number[];
  }

  /**
   * Posts a 2-task k=3 job, awards it to the four providers, lets each write its bundles the
   * way the worker does (groupBundlePath + writeBundle, one directory, one CID), commits and
   * reveals in `providers` order, and finalizes. Returns the job and who holds which groups.
   */
  async function runJob(behaviours: Behaviour[]) {
    const { jobId } = await postAndAward(f, providers, { capacity: (i) => (i < 2 ? 2 : 1) });
    const work = await mkdtemp(path.join(f.dir, "work-"));
    const reveals: ProviderReveal[] = [];
    const groupsHeld = new Map<string, number[]>();
    for (const [i, provider] of providers.entries()) {
      const behaviour = behaviours[i] ?? { text: "honest" };
      const assignments = await f.p.market.assignmentsOf(jobId, provider.address);
      groupsHeld.set(
        provider.address,
        assignments.map((a) => Number(a.groupId)),
      );
      const revealed = path.join(work, `${i}-revealed`);
      const roots: string[] = [];
      for (const assignment of assignments) {
        const tasks = [];
        for (let t = 0; t < Number(assignment.taskCount); t++) {
          const index = Number(assignment.taskStart) + t;
          const out = path.join(work, `${i}-out-${index}`);
          await mkdir(out);
          await writeFile(path.join(out, "result.txt"), `${behaviour.text} task ${index}\n`);
          tasks.push({ index, status: "succeeded" as const, outputDir: out });
        }
        const omitted = behaviour.omitGroups?.includes(Number(assignment.groupId)) ?? false;
        const bundleDir = omitted
          ? path.join(work, `${i}-omitted-${assignment.groupId}`)
          : groupBundlePath(revealed, assignment.groupId, assignments.length);
        const { root } = await writeBundle({
          bundleDir,
          jobId,
          groupId: assignment.groupId,
          provider: provider.address,
          tasks,
        });
        roots.push(root);
      }
      const cid = await f.store.addDirectory(revealed);
      reveals.push({ provider, roots, cid });
    }
    await commitRevealFinalize(f, jobId, reveals);
    return { jobId, groupsHeld, reveals };
  }

  it("verifies every task from the group-<id>/ bundles of providers holding both groups", async () => {
    // The single-group providers disagree with the others, so each group's winning root is the
    // two double-group providers': only their folder-of-bundles layout can prove the tasks.
    const { jobId, groupsHeld } = await runJob([
      { text: "honest" },
      { text: "honest" },
      { text: "cheat-c" },
      { text: "cheat-d" },
    ]);
    const [a, b] = providers as [HardhatEthersSigner, HardhatEthersSigner];
    expect(groupsHeld.get(a.address)).to.have.members([0, 1]);
    expect(groupsHeld.get(b.address)).to.have.members([0, 1]);
    expect((await f.p.market.getJob(jobId)).groupCount).to.equal(2n);

    const out = path.join(f.dir, "results");
    const report = await fetchResults(f.ctx, jobId, out);
    expect(report.complete).to.equal(true);
    expect(report.tasks.map((t) => [t.index, t.groupId, t.state, t.provider])).to.deep.equal([
      [0, report.tasks[0]?.groupId, "verified", a.address],
      [1, report.tasks[1]?.groupId, "verified", a.address],
    ]);
    expect(new Set(report.tasks.map((t) => t.groupId))).to.deep.equal(new Set([0, 1]));
    for (const index of [0, 1]) {
      expect(await readFile(path.join(out, "tasks", String(index), "result.txt"), "utf8")).to.equal(
        `honest task ${index}\n`,
      );
    }
    expect(
      report.bundles.map((bundle) => [bundle.groupId, bundle.provider, bundle.ok]),
    ).to.deep.equal([
      [0, a.address, true],
      [1, a.address, true],
    ]);
  });

  it("sets aside a revealed folder missing a group's bundle, saying so, and uses another winner's", async () => {
    const { jobId, groupsHeld } = await runJob([
      { text: "honest", omitGroups: [1] },
      { text: "honest" },
      { text: "cheat-c" },
      { text: "cheat-d" },
    ]);
    const [a, b] = providers as [HardhatEthersSigner, HardhatEthersSigner];
    expect(groupsHeld.get(a.address)).to.have.members([0, 1]);
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, "results"));
    expect(report.complete).to.equal(true);
    const aInGroup1 = report.bundles.find((x) => x.groupId === 1 && x.provider === a.address);
    expect(aInGroup1?.ok).to.equal(false);
    expect(aInGroup1?.reason).to.contain("group-1/").and.to.contain("[bundle-group-missing]");
    const group1Tasks = report.tasks.filter((t) => t.groupId === 1);
    expect(group1Tasks.map((t) => [t.state, t.provider])).to.deep.equal([["verified", b.address]]);
    expect(report.tasks.find((t) => t.groupId === 0)?.provider).to.equal(a.address);
  });

  it("still reads the plain bundle of a provider holding a single group", async () => {
    // Honest everywhere: group members that hold one group reveal the bundle itself.
    const { jobId, groupsHeld, reveals } = await runJob([
      { text: "same" },
      { text: "same" },
      { text: "same" },
      { text: "same" },
    ]);
    const c = providers[2] as HardhatEthersSigner;
    const [group] = groupsHeld.get(c.address) ?? [];
    const cid = reveals.find((r) => r.provider === c)?.cid as string;
    const exported = path.join(f.dir, "c-revealed");
    await f.store.exportTo(cid, exported);
    expect(await findGroupBundle(exported, group as number)).to.equal(exported);
    const report = await fetchResults(f.ctx, jobId, path.join(f.dir, "results"));
    expect(report.complete).to.equal(true);
  });
});

describe("results#findGroupBundle", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-layout-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function bundle(at: string, groupId: number, text = "x"): Promise<string> {
    const out = await mkdtemp(path.join(dir, "out-"));
    await writeFile(path.join(out, "result.txt"), text);
    const { root } = await writeBundle({
      bundleDir: at,
      jobId: 7,
      groupId,
      provider: `0x${"11".repeat(20)}`,
      tasks: [{ index: groupId, status: "succeeded", outputDir: out }],
    });
    return root;
  }

  async function rejection(promise: Promise<unknown>): Promise<ConunError> {
    return promise.then(
      () => expect.fail("expected a rejection"),
      (e: unknown) => e as ConunError,
    );
  }

  it("writes one group at the top and several as group-<id>/ folders", () => {
    expect(groupBundlePath("/r", 3, 1)).to.equal("/r");
    expect(groupBundlePath("/r", 3, 2)).to.equal(path.join("/r", "group-3"));
    expect(groupBundlePath("/r", 0n, 5)).to.equal(path.join("/r", "group-0"));
    expect(() => groupBundlePath("/r", 0, 0)).to.throw(/groupsHeld must be ≥ 1/);
  });

  it("finds each group's bundle in either layout, and it verifies there", async () => {
    const single = path.join(dir, "single");
    const root = await bundle(single, 4);
    expect(await findGroupBundle(single, 4)).to.equal(single);
    expect((await verifyBundle(await findGroupBundle(single, 4n), root)).ok).to.equal(true);

    const several = path.join(dir, "several");
    const roots = [
      await bundle(groupBundlePath(several, 0, 2), 0),
      await bundle(groupBundlePath(several, 1, 2), 1),
    ];
    for (const g of [0, 1]) {
      const found = await findGroupBundle(several, g);
      expect(found).to.equal(path.join(several, `group-${g}`));
      expect((await verifyBundle(found, roots[g] as string)).ok).to.equal(true);
    }
  });

  it("says which group a top-level bundle belongs to when another is asked for", async () => {
    const single = path.join(dir, "other");
    await bundle(single, 2);
    const error = await rejection(findGroupBundle(single, 5));
    expect(error.code).to.equal("bundle-group-missing");
    expect(error.message).to.equal(
      "the revealed bundle is group 2's, and it has no group-5/ for group 5",
    );
  });

  it("refuses a folder without the group, and a group-<id>/ bundle that names another group", async () => {
    const several = path.join(dir, "partial");
    await bundle(groupBundlePath(several, 0, 2), 0);
    const missing = await rejection(findGroupBundle(several, 1));
    expect(missing.code).to.equal("bundle-group-missing");
    expect(missing.message).to.contain("neither a results.json for group 1 nor a group-1/");

    const mislabelled = path.join(dir, "mislabelled");
    await bundle(path.join(mislabelled, "group-1"), 0);
    const wrong = await rejection(findGroupBundle(mislabelled, 1));
    expect(wrong.code).to.equal("bundle-group-missing");
    expect(wrong.message).to.equal("group-1/results.json is for group 0, not group 1");
  });

  it("reports a malformed top-level results.json as an invalid bundle", async () => {
    const broken = path.join(dir, "broken");
    await mkdir(broken);
    await writeFile(path.join(broken, "results.json"), '{"version":2}');
    expect((await rejection(findGroupBundle(broken, 0))).code).to.equal("bundle-invalid");
  });
});
