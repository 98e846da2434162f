import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { saveImage } from "../../devnet/images.ts";
import {
  inspectImageArchiveFile as inspectImageArchive,
  sanitizedArchiveFile as sanitizedArchive,
} from "../../sdk/content/image-archive-file.ts";
import { rejection, useBusybox, useScratch } from "./support/execution.ts";

const image = useBusybox();
const scratch = useScratch("conun-archive-");

async function sanitize(path: string, destination: string): Promise<string> {
  await pipeline(
    Readable.from(sanitizedArchive(await inspectImageArchive(path))),
    createWriteStream(destination),
  );
  return destination;
}

function extract(tarball: string, into: string): string {
  execFileSync("mkdir", ["-p", into]);
  execFileSync("tar", ["-xf", tarball, "-C", into]);
  return into;
}

/**
 * Rewrites a `docker save` tree into the OCI layout newer engines write (blobs/sha256/…,
 * index.json with naming annotations), plus a file with a 150-character path, and tars it
 * in the given format (pax: PAX headers; gnu: GNU long names).
 */
async function ociStyleArchive(format: "pax" | "gnu"): Promise<string> {
  const legacy = extract(
    await saveImage("conun-test/busybox:1", join(scratch(), "legacy.tar")),
    join(scratch(), "legacy"),
  );
  const [manifest] = JSON.parse(await readFile(join(legacy, "manifest.json"), "utf8"));
  const root = join(scratch(), `oci-${format}`);
  await mkdir(join(root, "blobs/sha256"), { recursive: true });
  const blob = async (path: string) => {
    const bytes = await readFile(join(legacy, path));
    const hex = createHash("sha256").update(bytes).digest("hex");
    await writeFile(join(root, "blobs/sha256", hex), bytes);
    return `blobs/sha256/${hex}`;
  };
  const config = await blob(manifest.Config);
  const layers = [];
  for (const layer of manifest.Layers) layers.push(await blob(layer));
  await writeFile(
    join(root, "manifest.json"),
    JSON.stringify([{ Config: config, RepoTags: ["ubuntu:latest"], Layers: layers }]),
  );
  await writeFile(
    join(root, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${"0".repeat(64)}`,
          size: 1,
          annotations: {
            "io.containerd.image.name": "docker.io/library/ubuntu:latest",
            "org.opencontainers.image.ref.name": "latest",
            "org.example.kept": "yes",
          },
        },
      ],
    }),
  );
  const deep = join(root, "d".repeat(60), "e".repeat(60));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, "f".repeat(30)), "long name");
  const tarball = join(scratch(), `oci-${format}.tar`);
  execFileSync("tar", [`--format=${format}`, "-C", root, "-cf", tarball, "."]);
  return tarball;
}

describe("execution#inspectImageArchive", function () {
  this.timeout(60_000);

  it("reads the image ID and tags of a docker save archive without loading it", async () => {
    const archive = await inspectImageArchive(
      await saveImage("conun-test/busybox:1", join(scratch(), "image.tar")),
    );
    expect(archive.imageId).to.equal(image().id);
    expect(archive.repoTags).to.deep.equal(["conun-test/busybox:1"]);
  });

  for (const format of ["pax", "gnu"] as const) {
    it(`reads an OCI-layout archive whose long names use ${format} headers`, async () => {
      const archive = await inspectImageArchive(await ociStyleArchive(format));
      expect(archive.imageId).to.equal(image().id);
      expect(archive.repoTags).to.deep.equal(["ubuntu:latest"]);
      expect(archive.entries.map((e) => e.name)).to.include(
        `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(30)}`,
      );
    });
  }

  it("refuses an archive with two images, a corrupt header, or a truncated end", async () => {
    const tree = extract(
      await saveImage("conun-test/busybox:1", join(scratch(), "image.tar")),
      join(scratch(), "tree"),
    );
    const [entry] = JSON.parse(await readFile(join(tree, "manifest.json"), "utf8"));
    await writeFile(join(tree, "manifest.json"), JSON.stringify([entry, entry]));
    const twoImages = join(scratch(), "two.tar");
    execFileSync("tar", ["-C", tree, "-cf", twoImages, "."]);
    expect((await rejection(inspectImageArchive(twoImages))).message).to.contain(
      "exactly one image",
    );

    const bytes = await readFile(join(scratch(), "image.tar"));
    const corrupt = Buffer.from(bytes);
    corrupt[10] = (corrupt[10] ?? 0) ^ 0xff;
    await writeFile(join(scratch(), "corrupt.tar"), corrupt);
    expect((await rejection(inspectImageArchive(join(scratch(), "corrupt.tar")))).code).to.equal(
      "image-archive-invalid",
    );
    await writeFile(join(scratch(), "short.tar"), bytes.subarray(0, 4096 + 100));
    expect((await rejection(inspectImageArchive(join(scratch(), "short.tar")))).code).to.equal(
      "image-archive-invalid",
    );
  });
});

describe("execution#sanitizedArchive", function () {
  this.timeout(60_000);

  it("drops every tag and leaves every other byte of a docker save archive as it was", async () => {
    const original = await saveImage("conun-test/busybox:1", join(scratch(), "image.tar"));
    const clean = await sanitize(original, join(scratch(), "clean.tar"));
    const before = extract(original, join(scratch(), "before"));
    const after = extract(clean, join(scratch(), "after"));
    const names = (await readdir(after, { recursive: true })).sort();
    expect(names).to.deep.equal(
      (await readdir(before, { recursive: true })).filter((n) => n !== "repositories").sort(),
    );
    const manifest = JSON.parse(await readFile(join(after, "manifest.json"), "utf8"));
    expect(manifest[0].RepoTags).to.equal(null);
    for (const name of names.filter((n) => n !== "manifest.json")) {
      const path = join(after, name);
      if (execFileSync("stat", ["-c", "%F", path]).toString().startsWith("regular")) {
        expect((await readFile(path)).equals(await readFile(join(before, name))), name).to.equal(
          true,
        );
      }
    }
    expect((await inspectImageArchive(clean)).imageId).to.equal(image().id);
  });

  it("drops the naming annotations of an OCI index but keeps the others", async () => {
    const clean = await sanitize(await ociStyleArchive("pax"), join(scratch(), "clean.tar"));
    const after = extract(clean, join(scratch(), "after"));
    const index = JSON.parse(await readFile(join(after, "index.json"), "utf8"));
    expect(index.manifests[0].annotations).to.deep.equal({ "org.example.kept": "yes" });
    expect(
      await readFile(join(after, "d".repeat(60), "e".repeat(60), "f".repeat(30)), "utf8"),
    ).to.equal("long name");
    expect((await inspectImageArchive(clean)).repoTags).to.deep.equal([]);
  });
});
