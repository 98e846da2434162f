// The two manifest mistakes a newcomer makes first — an image.archive path that is not there,
// an image tag that is not pinned — each end conun:post with one line naming the problem and
// the fix: postJob is what the task runs once connected, runAction what prints its error.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { runAction } from "../../requester/hardhat/common.ts";
import { postJob } from "../../requester/post.ts";
import { freshRequesterFixture, type RequesterFixture, sourceManifest } from "./fixtures.ts";

describe("conun:post's errors for the image", () => {
  let f: RequesterFixture;

  beforeEach(async () => {
    f = await freshRequesterFixture();
  });
  afterEach(() => f.cleanup());

  /** Posts `manifest` from a file through the task's error handling; returns what it printed. */
  async function post(manifest: Record<string, unknown>): Promise<string[]> {
    const file = path.join(f.dir, "job.json");
    await writeFile(file, JSON.stringify(manifest));
    const printed: string[] = [];
    const original = console.error;
    const previousExitCode = process.exitCode;
    console.error = (...args: unknown[]) => printed.push(args.join(" "));
    let exitCode: typeof process.exitCode;
    try {
      await runAction(async () => {
        await postJob(f.ctx, { manifestPath: file });
      });
      exitCode = process.exitCode;
    } finally {
      console.error = original;
      process.exitCode = previousExitCode;
    }
    expect(exitCode).to.equal(1);
    return printed;
  }

  it("names a missing image.archive and how to fix it, in one line", async () => {
    const nonce = await f.connection.ethers.provider.getTransactionCount(f.requester.address);
    const printed = await post(sourceManifest({ image: { archive: "./missing/busybox.tar" } }));
    const archive = path.join(f.dir, "missing/busybox.tar");
    expect(printed).to.deep.equal([
      `error: image.archive: ${archive} does not exist: save the image there with ` +
        `\`docker save -o ${archive} <image>\`, or fix the path (it is relative to the manifest) ` +
        "[manifest-unreadable]",
    ]);
    expect(await f.connection.ethers.provider.getTransactionCount(f.requester.address)).to.equal(
      nonce,
    );
  });

  it("says a directory given as image.archive is not the tarball", async () => {
    const printed = await post(sourceManifest({ image: { archive: "." } }));
    expect(printed).to.deep.equal([
      `error: image.archive: ${f.dir} is not a file: name the \`docker save\` tarball itself ` +
        "[manifest-unreadable]",
    ]);
  });

  it("asks to pin an unpinned tag by digest, once, saying how to get the digest", async () => {
    const printed = await post(sourceManifest({ image: { ref: "busybox:latest" } }));
    expect(printed).to.deep.equal([
      'error: invalid manifest: image.ref: "busybox:latest" is not pinned: pin it by digest as ' +
        "name@sha256:<digest> (after `docker pull busybox:latest`, `docker inspect --format " +
        "'{{index .RepoDigests 0}}' busybox:latest` prints it and `docker inspect --format " +
        "'{{.Id}}' busybox:latest` the image.id), or use image.archive (a `docker save` " +
        "tarball) instead [manifest-invalid]",
    ]);
  });
});
