import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { network } from "hardhat";
import {
  attentionReason,
  MAX_PATH_BYTES,
  MAX_REASON_LENGTH,
  outputHash,
  proofFor,
  readBundle,
  resultRoot,
  resultTree,
  STDERR_TAIL_BOUNDS,
  scanOutput,
  unsuccessfulTaskHash,
  verifyBundle,
  verifyTaskProof,
  writeBundle,
} from "../../sdk/results/index.ts";
import { controlCharacters } from "../helpers/text.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), "conun-results-"));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function tree(root: string, files: Record<string, string>): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), contents);
  }
  return root;
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string };
  }
  throw new Error("expected a rejection");
}

describe("results#outputHash", () => {
  it("hashes the sorted lines `<path>\\0<sha256>\\n` of every regular file", async () => {
    const dir = await tree(join(scratch, "out"), {
      "a.txt": "alpha",
      "a/b": "beta",
      B: "upper",
      "sub/dir/c.bin": "gamma",
    });
    // Byte order: "B" (0x42) < "a.txt" < "a/b" ('.' 0x2e < '/' 0x2f) < "sub/…".
    const expected = sha256(
      [
        `B\0${sha256("upper")}\n`,
        `a.txt\0${sha256("alpha")}\n`,
        `a/b\0${sha256("beta")}\n`,
        `sub/dir/c.bin\0${sha256("gamma")}\n`,
      ].join(""),
    );
    expect(await outputHash(dir)).to.equal(`0x${expected}`);
  });

  it("is the hash of nothing for an empty output, and ignores empty directories", async () => {
    const dir = join(scratch, "out");
    await mkdir(join(dir, "empty", "deeper"), { recursive: true });
    expect(await outputHash(dir)).to.equal(`0x${sha256("")}`);
  });

  it("ignores timestamps and modes but not contents or names", async () => {
    const one = await tree(join(scratch, "one"), { "x/y.txt": "same", "z.txt": "z" });
    const two = await tree(join(scratch, "two"), { "x/y.txt": "same", "z.txt": "z" });
    await utimes(join(two, "z.txt"), 1_000, 1_000);
    await chmod(join(two, "x/y.txt"), 0o755);
    expect(await outputHash(two)).to.equal(await outputHash(one));
    await writeFile(join(two, "z.txt"), "Z");
    expect(await outputHash(two)).to.not.equal(await outputHash(one));
    const three = await tree(join(scratch, "three"), { "x/y.txt": "same", "z2.txt": "z" });
    expect(await outputHash(three)).to.not.equal(await outputHash(one));
  });

  it("refuses a symlink without following it", async () => {
    const secret = join(scratch, "secret");
    await writeFile(secret, "host data");
    const dir = await tree(join(scratch, "out"), { "ok.txt": "fine" });
    await symlink(secret, join(dir, "leak"));
    const error = await rejection(outputHash(dir));
    expect(error.code).to.equal("invalid-output");
    expect(String(error)).to.contain("symlink: leak");
  });

  it("refuses a symlinked directory and a fifo", async () => {
    const linked = await tree(join(scratch, "linked"), { "ok.txt": "fine" });
    await symlink("/etc", join(linked, "etc"));
    expect((await rejection(outputHash(linked))).code).to.equal("invalid-output");
    const fifo = await tree(join(scratch, "fifo"), {});
    execFileSync("mkfifo", [join(fifo, "pipe")]);
    expect((await rejection(outputHash(fifo))).code).to.equal("invalid-output");
  });

  it("refuses a file name that is not UTF-8", async () => {
    const dir = join(scratch, "out");
    await mkdir(dir);
    await writeFile(Buffer.from(`${dir}/\xff\xfe`, "latin1"), "x");
    expect((await rejection(outputHash(dir))).code).to.equal("invalid-output");
  });

  it("refuses a path longer than MAX_PATH_BYTES", async () => {
    const chain = Array.from({ length: 13 }, () => "p".repeat(250)).join("/");
    expect(Buffer.byteLength(chain)).to.be.above(MAX_PATH_BYTES);
    const dir = await tree(join(scratch, "out"), { [`${chain}/f`]: "deep" });
    const error = await rejection(outputHash(dir));
    expect(error.code).to.equal("invalid-output");
    expect(String(error)).to.contain(`longer than ${MAX_PATH_BYTES} bytes`);
  });

  it("stops with output-too-large beyond the byte or entry bound", async () => {
    const dir = await tree(join(scratch, "out"), { a: "12345", b: "67890" });
    expect((await scanOutput(dir, { maxBytes: 10 })).totalBytes).to.equal(10);
    expect((await rejection(scanOutput(dir, { maxBytes: 9 }))).code).to.equal("output-too-large");
    expect((await rejection(scanOutput(dir, { maxEntries: 1 }))).code).to.equal("output-too-large");
  });
});

describe("results#resultRoot", () => {
  const entries = Array.from({ length: 5 }, (_, i) => ({
    index: 10 + i,
    outputHash: `0x${sha256(`task ${10 + i}`)}`,
  }));

  it("equals OpenZeppelin's standard tree over (uint256, bytes32) leaves", () => {
    const reference = StandardMerkleTree.of(
      entries.map((e) => [BigInt(e.index), e.outputHash]),
      ["uint256", "bytes32"],
    );
    expect(resultRoot(entries)).to.equal(reference.root);
  });

  it("does not depend on the order tasks are listed in", () => {
    expect(resultRoot([...entries].reverse())).to.equal(resultRoot(entries));
  });

  it("proves each task and rejects a changed output or index", () => {
    const root = resultRoot(entries);
    for (const entry of entries) {
      const proof = proofFor(entries, entry.index);
      expect(verifyTaskProof(root, entry.index, entry.outputHash, proof)).to.equal(true);
      expect(verifyTaskProof(root, entry.index + 100, entry.outputHash, proof)).to.equal(false);
      expect(verifyTaskProof(root, entry.index, `0x${sha256("forged")}`, proof)).to.equal(false);
    }
  });

  it("refuses duplicate task indices and malformed hashes", () => {
    const first = entries[0] as (typeof entries)[number];
    expect(() => resultRoot([first, first])).to.throw(/appears twice/);
    expect(() => resultRoot([{ index: 1, outputHash: "0x1234" }])).to.throw(/malformed/);
    expect(() => resultRoot([])).to.throw(/at least one task/);
  });

  it("produces roots and proofs that ResultMerkle verifies on chain", async () => {
    const { ethers } = await network.create({ chainType: "l1" });
    const harness = await ethers.deployContract("ResultMerkleHarness");
    const dir = await tree(join(scratch, "out"), { "result.txt": "42\n" });
    const real = { index: 7, outputHash: await outputHash(dir) };
    const all = [...entries, real];
    const t = resultTree(all);
    for (const entry of all) {
      expect(
        await harness.verifyTask(proofFor(t, entry.index), t.root, entry.index, entry.outputHash),
      ).to.equal(true);
    }
    expect(await harness.verifyTask(proofFor(t, 7), t.root, 8, real.outputHash)).to.equal(false);
  });
});

describe("results#writeBundle", () => {
  async function twoTaskBundle() {
    const out0 = await tree(join(scratch, "run", "0"), { "tile.txt": "tile 0", "sub/x": "x0" });
    const out1 = await tree(join(scratch, "run", "1"), { "tile.txt": "tile 1" });
    await chmod(join(out1, "tile.txt"), 0o4755);
    const bundleDir = join(scratch, "bundle");
    const results = await writeBundle({
      bundleDir,
      jobId: 3n,
      groupId: 1n,
      provider: "0x00000000000000000000000000000000000000aa",
      tasks: [
        { index: 1, status: "succeeded", outputDir: out1 },
        { index: 0, status: "succeeded", outputDir: out0, outputHash: await outputHash(out0) },
        { index: 2, status: "timed-out" },
      ],
    });
    return { bundleDir, results, out0, out1 };
  }

  it("writes tasks/<index>/ and results.json whose root covers every task", async () => {
    const { bundleDir, results, out0 } = await twoTaskBundle();
    expect(results.jobId).to.equal("3");
    expect(results.tasks.map((t) => t.index)).to.deep.equal([0, 1, 2]);
    expect(results.tasks[0]?.outputHash).to.equal(await outputHash(out0));
    expect(results.tasks[2]?.outputHash).to.equal(unsuccessfulTaskHash("timed-out"));
    expect(results.root).to.equal(resultRoot(results.tasks));
    expect(await readFile(join(bundleDir, "tasks/0/sub/x"), "utf8")).to.equal("x0");
    expect(await readBundle(bundleDir)).to.deep.equal(results);
  });

  it("strips every mode bit the task chose from the copied files", async () => {
    const { bundleDir } = await twoTaskBundle();
    expect((await stat(join(bundleDir, "tasks/1/tile.txt"))).mode & 0o7777).to.equal(0o644);
  });

  it("refuses an output that no longer matches the hash the caller computed", async () => {
    const out = await tree(join(scratch, "o"), { f: "one" });
    const error = await rejection(
      writeBundle({
        bundleDir: join(scratch, "b"),
        jobId: 1,
        groupId: 0,
        provider: "0x00000000000000000000000000000000000000aa",
        tasks: [
          { index: 0, status: "succeeded", outputDir: out, outputHash: `0x${"0".repeat(64)}` },
        ],
      }),
    );
    expect(error.code).to.equal("output-changed");
  });
});

describe("results#verifyBundle", () => {
  async function bundle() {
    const out0 = await tree(join(scratch, "run", "0"), { "tile.txt": "tile 0" });
    const out1 = await tree(join(scratch, "run", "1"), { "tile.txt": "tile 1" });
    const bundleDir = join(scratch, "bundle");
    const results = await writeBundle({
      bundleDir,
      jobId: 9,
      groupId: 2,
      provider: "0x00000000000000000000000000000000000000bb",
      tasks: [
        { index: 4, status: "succeeded", outputDir: out0 },
        { index: 5, status: "succeeded", outputDir: out1 },
        { index: 6, status: "out-of-memory" },
      ],
    });
    return { bundleDir, results };
  }

  it("verifies every task of an intact bundle against the winning root", async () => {
    const { bundleDir, results } = await bundle();
    const report = await verifyBundle(bundleDir, results.root);
    expect(report.ok).to.equal(true);
    expect(report.tasks.map((t) => t.verdict)).to.deep.equal(["verified", "verified", "verified"]);
  });

  it("flags a tampered file for its task only", async () => {
    const { bundleDir, results } = await bundle();
    await writeFile(join(bundleDir, "tasks/5/tile.txt"), "forged");
    const report = await verifyBundle(bundleDir, results.root);
    expect(report.ok).to.equal(false);
    expect(report.tasks.map((t) => t.verdict)).to.deep.equal([
      "verified",
      "output-mismatch",
      "verified",
    ]);
  });

  it("flags a missing task directory and a symlink planted in a task", async () => {
    const { bundleDir, results } = await bundle();
    await rm(join(bundleDir, "tasks/4"), { recursive: true });
    await symlink("/etc/passwd", join(bundleDir, "tasks/5/passwd"));
    const report = await verifyBundle(bundleDir, results.root);
    expect(report.tasks.map((t) => t.verdict)).to.deep.equal([
      "missing-output",
      "invalid-output",
      "verified",
    ]);
  });

  it("rejects every task against a root that did not win", async () => {
    const { bundleDir } = await bundle();
    const report = await verifyBundle(bundleDir, `0x${sha256("another root")}`);
    expect(report.ok).to.equal(false);
    expect(report.tasks.every((t) => t.verdict === "not-in-root")).to.equal(true);
  });

  it("refuses a bundle whose results.json is malformed", async () => {
    const { bundleDir } = await bundle();
    await writeFile(join(bundleDir, "results.json"), JSON.stringify({ version: 2 }));
    expect((await rejection(readBundle(bundleDir))).code).to.equal("bundle-invalid");
  });
});

describe("results#task outcome (exit code, stderr tail, reason)", () => {
  const PROVIDER = "0x00000000000000000000000000000000000000cc";

  async function outcomeBundle(stderr: string) {
    const out0 = await tree(join(scratch, "run", "0"), { "r.txt": "ok" });
    const bundleDir = join(scratch, "bundle");
    const results = await writeBundle({
      bundleDir,
      jobId: 5,
      groupId: 0,
      provider: PROVIDER,
      tasks: [
        { index: 0, status: "succeeded", outputDir: out0, exitCode: 0, stderr: "" },
        {
          index: 1,
          status: "failed",
          exitCode: 127,
          stderr,
          reason: "exited with code 127",
        },
      ],
    });
    return { bundleDir, results, out0 };
  }

  it("records them beside the claim, escaped and bounded, and verifies them as unverified info", async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    const stderr = `${lines.join("\n")}\n\x1b[31msh: ech: not found\x1b[0m\r\n`;
    const { bundleDir, results } = await outcomeBundle(stderr);
    const task1 = results.tasks[1];
    expect(task1?.exitCode).to.equal(127);
    expect(task1?.reason).to.equal("exited with code 127");
    expect(task1?.stderrTail?.split("\n")).to.have.length(STDERR_TAIL_BOUNDS.maxLines);
    expect(task1?.stderrTail?.endsWith("\\x1b[31msh: ech: not found\\x1b[0m\\r")).to.equal(true);
    expect(task1?.stderrTail?.startsWith("…")).to.equal(true);
    expect(results.tasks[0]).to.not.have.property("stderrTail");
    expect(await readBundle(bundleDir)).to.deep.equal(results);
    const report = await verifyBundle(bundleDir, results.root);
    expect(report.ok).to.equal(true);
    expect(report.tasks[1]?.outcome).to.deep.equal({
      exitCode: 127,
      stderrTail: task1?.stderrTail,
      reason: "exited with code 127",
    });
    expect(report.tasks[0]?.output).to.deep.equal({ files: 1, bytes: 2 });
  });

  it("keeps them out of the leaf: replicas that differ only in stderr share the root", async () => {
    const { results } = await outcomeBundle("timing 1.23 s\n");
    await rm(join(scratch, "bundle"), { recursive: true });
    await rm(join(scratch, "run"), { recursive: true });
    const { results: other } = await outcomeBundle("timing 9.87 s\n");
    expect(other.root).to.equal(results.root);
    expect(other.tasks[1]?.outputHash).to.equal(unsuccessfulTaskHash("failed"));
  });

  it("still reads and verifies an older bundle without the fields", async () => {
    const out = await tree(join(scratch, "old-out"), { "a.txt": "a" });
    const hash = await outputHash(out);
    const failed = unsuccessfulTaskHash("failed");
    const leaves = [
      { index: 0, outputHash: hash },
      { index: 1, outputHash: failed },
    ];
    const bundleDir = join(scratch, "old");
    await tree(join(bundleDir, "tasks", "0"), { "a.txt": "a" });
    const root = resultRoot(leaves);
    // Exactly what a worker wrote before the outcome fields existed.
    await writeFile(
      join(bundleDir, "results.json"),
      JSON.stringify({
        version: 1,
        jobId: "1",
        groupId: "0",
        provider: PROVIDER,
        root,
        tasks: [
          { index: 0, outputHash: hash, status: "succeeded", proof: proofFor(leaves, 0) },
          { index: 1, outputHash: failed, status: "failed", proof: proofFor(leaves, 1) },
        ],
      }),
    );
    const report = await verifyBundle(bundleDir, root);
    expect(report.ok).to.equal(true);
    expect(report.tasks.map((t) => t.outcome)).to.deep.equal([{}, {}]);
  });

  it("bounds, escapes or drops what a hostile provider puts there, without refusing the bundle", async () => {
    const { bundleDir, results } = await outcomeBundle("x\n");
    const raw = JSON.parse(await readFile(join(bundleDir, "results.json"), "utf8"));
    raw.tasks[0].stderrTail = `\x1b]0;owned\x07${"A".repeat(1 << 20)}\u009b2J`;
    raw.tasks[0].reason = `\x1b[2J${"r".repeat(10_000)}`;
    raw.tasks[0].exitCode = "zero";
    raw.tasks[1].stderrTail = { not: "text" };
    raw.tasks[1].exitCode = 1e300;
    await writeFile(join(bundleDir, "results.json"), JSON.stringify(raw));
    const report = await verifyBundle(bundleDir, results.root);
    expect(report.ok).to.equal(true);
    const [first, second] = report.tasks.map((t) => t.outcome);
    expect(first?.exitCode).to.equal(undefined);
    expect(new TextEncoder().encode(first?.stderrTail).length).to.be.at.most(
      STDERR_TAIL_BOUNDS.maxBytes,
    );
    expect(first?.stderrTail?.endsWith("A\\x9b2J")).to.equal(true);
    expect([...(first?.reason ?? "")].length).to.be.at.most(MAX_REASON_LENGTH);
    expect(first?.reason?.startsWith("\\x1b[2J")).to.equal(true);
    expect(
      controlCharacters(`${first?.stderrTail}${first?.reason}`, { multiline: true }),
    ).to.deep.equal([]);
    expect(second).to.deep.equal({ reason: "exited with code 127" });
  });

  it("flags tasks worth a look: not succeeded, exit ≠ 0, or an empty output", () => {
    const full = { files: 1, bytes: 3 };
    expect(attentionReason({ status: "failed", output: full })).to.equal("it ended failed");
    expect(
      attentionReason({ status: "succeeded", outcome: { exitCode: 2 }, output: full }),
    ).to.equal("it exited with code 2");
    expect(attentionReason({ status: "succeeded", output: { files: 0, bytes: 0 } })).to.equal(
      "its output is empty",
    );
    expect(attentionReason({ status: "succeeded", output: { files: 2, bytes: 0 } })).to.equal(
      "its output files are all empty",
    );
    expect(
      attentionReason({ status: "succeeded", outcome: { exitCode: 0 }, output: full }),
    ).to.equal(undefined);
  });
});
