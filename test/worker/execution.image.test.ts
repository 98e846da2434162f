import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  buildBusyboxImage,
  busyboxImage,
  type LocalRegistry,
  pushImage,
  removeImage,
  saveImage,
  startLocalRegistry,
  type TestImage,
} from "../../devnet/images.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import {
  connectDocker,
  ensureImage,
  inspectImageArchive,
  parseImageRef,
} from "../../worker/src/execution/index.ts";
import { rejection } from "./support/execution.ts";

const docker = connectDocker();
const DIGEST = `sha256:${"ab".repeat(32)}`;

let scratch: string;
let store: ContentStore;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), "conun-image-test-"));
  store = await openContentStore({ kind: "local", dir: join(scratch, "store") });
});
afterEach(async () => {
  await store.close();
  await rm(scratch, { recursive: true, force: true });
});

async function present(refOrId: string): Promise<boolean> {
  try {
    await docker.getImage(refOrId).inspect();
    return true;
  } catch {
    return false;
  }
}

/** A content store that must not be touched (the image is expected to be found locally). */
const untouchableStore = new Proxy({} as ContentStore, {
  get: (_target, property) => () => {
    throw new Error(`content store used: ${String(property)}`);
  },
});

/** A throwaway image, saved (with its tag) into the store and then removed from the engine. */
async function archivedImage(tag: string, marker: string): Promise<TestImage & { cid: string }> {
  await removeImage(tag);
  const image = await buildBusyboxImage(tag, { "etc/conun-marker": `${marker}\n` });
  const tarball = await saveImage(tag, join(scratch, `${marker}.tar`));
  const cid = await store.addFile(tarball);
  await removeImage(image.id);
  return { ...image, cid };
}

describe("execution#parseImageRef", () => {
  it("accepts an ipfs:// archive and a registry reference pinned by digest", () => {
    expect(parseImageRef(`registry.example:5000/team/render:v2@${DIGEST}`)).to.deep.equal({
      kind: "registry",
      ref: `registry.example:5000/team/render:v2@${DIGEST}`,
    });
    const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    expect(parseImageRef(`ipfs://${cid}`)).to.deep.equal({ kind: "archive", cid });
  });

  it("refuses a tag without a digest, and malformed references", () => {
    expect(() => parseImageRef("ubuntu:latest")).to.throw(/no digest/);
    expect(() => parseImageRef("ubuntu@sha256:1234")).to.throw(/malformed/);
    expect(() => parseImageRef("ipfs://not-a-cid")).to.throw(/not a CID/);
  });
});

describe("execution#ensureImage", function () {
  this.timeout(60_000);

  it("refuses an unpinned registry reference with image-not-pinned", async () => {
    const error = await rejection(ensureImage("conun-test/busybox:1", DIGEST, { docker }));
    expect(error.code).to.equal("image-not-pinned");
  });

  it("uses an image already present without touching the content store", async () => {
    const image = await busyboxImage();
    const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    const ensured = await ensureImage(`ipfs://${cid}`, image.id, {
      docker,
      contentStore: untouchableStore,
    });
    expect(ensured).to.deep.equal({ imageId: image.id, origin: "local" });
  });

  it("loads an image archive from the content store, without the tags it carries", async () => {
    const image = await archivedImage("conun-test/load-me:1", "load-me");
    expect(await present(image.id)).to.equal(false);
    const archive = await inspectImageArchive(join(scratch, "load-me.tar"));
    expect(archive.imageId).to.equal(image.id);
    expect(archive.repoTags).to.deep.equal(["conun-test/load-me:1"]);

    const ensured = await ensureImage(`ipfs://${image.cid}`, image.id, {
      docker,
      contentStore: store,
    });
    expect(ensured).to.deep.equal({ imageId: image.id, origin: "loaded" });
    expect((await docker.getImage(image.id).inspect()).RepoTags).to.deep.equal([]);
    expect(await present("conun-test/load-me:1")).to.equal(false);
    await removeImage(image.id);
  });

  it("refuses an archive whose image is not the expected one, before loading it", async () => {
    const image = await archivedImage("conun-test/wrong-one:1", "wrong-one");
    // The image the job names, absent from the engine so that the archive must provide it.
    const expected = await archivedImage("conun-test/expected-one:1", "expected-one");
    expect(await present(expected.id)).to.equal(false);
    const error = await rejection(
      ensureImage(`ipfs://${image.cid}`, expected.id, { docker, contentStore: store }),
    );
    expect(error.code).to.equal("image-digest-mismatch");
    expect(error.message).to.contain(image.id);
    expect(await present(image.id)).to.equal(false);
  });

  it("stops exporting an archive larger than the worker accepts, before loading it", async () => {
    const image = await archivedImage("conun-test/too-big:1", "too-big");
    const error = await rejection(
      ensureImage(`ipfs://${image.cid}`, image.id, {
        docker,
        contentStore: store,
        maxImageBytes: 64 * 1024,
        workDir: scratch,
      }),
    );
    expect(error.code).to.equal("image-too-large");
    expect(await present(image.id)).to.equal(false);
    expect(
      (await readdir(scratch)).filter((name) => name.startsWith("conun-image-")),
    ).to.deep.equal([]);
  });

  it("refuses an archive that is not a docker save tarball", async () => {
    const cid = await store.addBytes(new TextEncoder().encode("just some bytes\n".repeat(100)));
    const error = await rejection(
      ensureImage(`ipfs://${cid}`, DIGEST, { docker, contentStore: store }),
    );
    expect(error.code).to.equal("image-archive-invalid");
  });

  it("reports a pull that cannot reach its registry as image-pull-failed, quickly", async () => {
    const started = Date.now();
    const error = await rejection(
      ensureImage(`127.0.0.1:9/conun/none@${DIGEST}`, DIGEST, { docker, fetchTimeoutMs: 20_000 }),
    );
    expect(error.code).to.equal("image-pull-failed");
    expect(Date.now() - started).to.be.below(20_000);
  });
});

describe("execution#ensureImage from a registry", function () {
  this.timeout(60_000);
  let registry: LocalRegistry;

  before(async () => {
    registry = await startLocalRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  /** An image pushed to the registry and then removed from the engine. */
  async function pushed(marker: string): Promise<TestImage & { pinned: string }> {
    const image = await buildBusyboxImage(`conun-test/${marker}:1`, {
      "etc/conun-marker": `${marker}\n`,
    });
    const pinned = await pushImage(image, registry, `conun/${marker}:1`);
    await removeImage(image.id);
    return { ...image, pinned };
  }

  it("pulls a reference pinned by digest, checks its image ID, then reuses it", async () => {
    const image = await pushed("pull-me");
    expect(await present(image.id)).to.equal(false);
    expect(await ensureImage(image.pinned, image.id, { docker })).to.deep.equal({
      imageId: image.id,
      origin: "pulled",
    });
    expect((await docker.getImage(image.id).inspect()).RepoDigests).to.deep.equal([image.pinned]);
    expect(await ensureImage(image.pinned, image.id, { docker })).to.deep.equal({
      imageId: image.id,
      origin: "local",
    });
    await removeImage(image.id);
  });

  it("refuses and removes a pulled image whose ID is not the one the job names", async () => {
    const image = await pushed("pull-wrong");
    const named = await busyboxImage();
    const error = await rejection(ensureImage(image.pinned, named.id, { docker }));
    expect(error.code).to.equal("image-digest-mismatch");
    expect(error.message).to.contain(image.id);
    expect(await present(image.id)).to.equal(false);
    expect(await present(named.id)).to.equal(true);
  });

  it("reports a digest the registry does not have as image-pull-failed", async () => {
    const error = await rejection(
      ensureImage(`${registry.host}/conun/absent@${DIGEST}`, DIGEST, { docker }),
    );
    expect(error.code).to.equal("image-pull-failed");
  });
});
