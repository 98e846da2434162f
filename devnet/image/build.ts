// Builds the demo image without a registry: compiles mandelbrot.c into a static binary,
// packs it into a root file system tarball holding only that binary (plus the empty mount
// points the sandbox needs), `docker import`s it, and `docker save`s it as the archive a job
// references by CID. The tag carries a hash of the source and build flags, so a second run
// finds the image and the archive and returns at once.
//
// Usage: node devnet/image/build.ts [--out DIR]    (prints the JSON result)
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { errorClass } from "../../sdk/errors.ts";

const run = promisify(execFile);

export const DEMO_IMAGE_REPOSITORY = "conun/mandelbrot";
export const DEFAULT_DEMO_IMAGE_DIR = path.resolve(import.meta.dirname, "../../.conun/demo-image");
const SOURCE = path.join(import.meta.dirname, "mandelbrot.c");
const CFLAGS = ["-static", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"];

export interface DemoImage {
  /** `conun/mandelbrot:<source hash>`. */
  tag: string;
  /** The image ID (`sha256:…`), which the resolved manifest pins. */
  imageId: string;
  /** The `docker save` archive of the image. */
  archive: string;
  /** The same archive under a fixed name (`mandelbrot.tar`), which demo/job.json refers to. */
  stableArchive: string;
  /** True when nothing had to be built. */
  cached: boolean;
}

export class DemoImageError extends errorClass("demo-image", ["demo-image-build-failed"]) {}

declare module "../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"demo-image", DemoImageError> {}
}

async function sh(file: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout.trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
      const install =
        file === "gcc"
          ? "gcc and the static C library (Debian/Ubuntu: sudo apt-get install -y gcc libc6-dev)"
          : file === "docker"
            ? "Docker (Debian/Ubuntu: sudo apt-get install -y docker.io)"
            : file;
      throw new DemoImageError(
        "demo-image-build-failed",
        `${file} is not installed: building the demo image needs ${install}`,
        { cause },
      );
    }
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new DemoImageError(
      "demo-image-build-failed",
      `${file} ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`,
      { cause },
    );
  }
}

async function imageIdOf(tag: string): Promise<string | undefined> {
  try {
    const { stdout } = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag], {
      timeout: 30_000,
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Builds (or finds) the demo image and its archive. Needs gcc, tar and a running Docker. */
export async function buildDemoImage(options: { outDir?: string } = {}): Promise<DemoImage> {
  const outDir = path.resolve(options.outDir ?? DEFAULT_DEMO_IMAGE_DIR);
  const source = await readFile(SOURCE);
  const hash = createHash("sha256").update(source).update(CFLAGS.join(" ")).digest("hex");
  const tag = `${DEMO_IMAGE_REPOSITORY}:${hash.slice(0, 16)}`;
  const archive = path.join(outDir, `mandelbrot-${hash.slice(0, 16)}.tar`);
  const idFile = `${archive}.id`;
  const stableArchive = path.join(outDir, "mandelbrot.tar");

  let imageId = await imageIdOf(tag);
  if (imageId !== undefined && existsSync(archive) && existsSync(idFile)) {
    if ((await readFile(idFile, "utf8")).trim() === imageId) {
      await linkStable(archive, stableArchive);
      return { tag, imageId, archive, stableArchive, cached: true };
    }
  }

  await mkdir(outDir, { recursive: true });
  if (imageId === undefined) {
    const work = await mkdtemp(path.join(tmpdir(), "conun-demo-image-"));
    try {
      const root = path.join(work, "rootfs");
      for (const dir of ["bin", "input", "output", "tmp"]) {
        await mkdir(path.join(root, dir), { recursive: true });
      }
      await sh("gcc", [...CFLAGS, "-o", path.join(root, "bin/mandelbrot"), SOURCE], 120_000);
      const tarball = path.join(work, "rootfs.tar");
      // Fixed owners and times: the tarball depends only on the binary.
      await sh(
        "tar",
        [
          "--create",
          "--file",
          tarball,
          "--directory",
          root,
          "--owner=0",
          "--group=0",
          "--numeric-owner",
          "--mtime=@0",
          "--sort=name",
          "bin",
          "input",
          "output",
          "tmp",
        ],
        60_000,
      );
      await sh(
        "docker",
        ["import", "--message", "CONUN demo: Mandelbrot tiles", tarball, tag],
        120_000,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    imageId = await imageIdOf(tag);
    if (imageId === undefined) {
      throw new DemoImageError("demo-image-build-failed", `docker import did not create ${tag}`);
    }
  }
  // Saved to a temporary name first: an interrupted save never leaves a truncated archive.
  const partial = `${archive}.partial`;
  await sh("docker", ["save", "--output", partial, tag], 120_000);
  await rename(partial, archive);
  await writeFile(idFile, `${imageId}\n`);
  await linkStable(archive, stableArchive);
  return { tag, imageId, archive, stableArchive, cached: false };
}

async function linkStable(archive: string, stable: string): Promise<void> {
  const same = await Promise.all([stat(archive), stat(stable).catch(() => undefined)]);
  if (same[1] !== undefined && same[0].ino === same[1].ino) return;
  await rm(stable, { force: true });
  await link(archive, stable);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outIndex = process.argv.indexOf("--out");
  const outDir = outIndex === -1 ? undefined : process.argv[outIndex + 1];
  try {
    console.log(JSON.stringify(await buildDemoImage({ outDir }), null, 2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
