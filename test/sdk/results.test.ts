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
  MAX_PATH_BYTES,
  outputHash,
  proofFor,
  readBundle,
  resultRoot,
  resultTree,
  scanOutput,
  unsuccessfulTaskHash,
  verifyBundle,
  verifyTaskProof,
  writeBundle,
} from "../../sdk/results/index.ts";

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
