// Test images built on this machine, with no registry: a root file system holding Debian's
// statically linked busybox (package `busybox-static`) and its applet links, imported with
// `docker import`. Building is idempotent: an existing tag is reused, so only the first test
// run on a machine pays the ~1 s import.
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian's busybox-static puts the binary. */
export const BUSYBOX_PATH = "/bin/busybox";

export interface TestImage {
  /** The tag, e.g. `conun-test/busybox:1`. */
  ref: string;
  /** The image ID (`sha256:…`), what a manifest's `image.id` holds. */
  id: string;
}

async function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout.trim();
}

async function imageId(ref: string): Promise<string | undefined> {
  try {
    return await docker(["image", "inspect", "--format", "{{.Id}}", ref], 15_000);
  } catch {
    return undefined;
  }
}

/**
 * A busybox image with `extraFiles` (path → contents) added to its root; tagged `ref`.
 * The root holds /etc/passwd and /etc/group (so `nobody` has a name), and empty /tmp,
 * /input and /output mount points.
 */
export async function buildBusyboxImage(
  ref: string,
  extraFiles: Record<string, string> = {},
): Promise<TestImage> {
  const existing = await imageId(ref);
  if (existing !== undefined) return { ref, id: existing };
  const work = await mkdtemp(join(tmpdir(), "conun-image-"));
  try {
    const root = join(work, "rootfs");
    await mkdir(join(root, "bin"), { recursive: true });
    await copyFile(BUSYBOX_PATH, join(root, "bin/busybox"));
    await chmod(join(root, "bin/busybox"), 0o755);
    const { stdout } = await run(BUSYBOX_PATH, ["--list-full"]);
    for (const applet of stdout.split("\n").filter(Boolean)) {
      if (applet === "bin/busybox") continue;
      await mkdir(join(root, dirname(applet)), { recursive: true });
      await symlink("/bin/busybox", join(root, applet)).catch(() => {});
    }
    const files: Record<string, string> = {
      "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
      "etc/group": "root:x:0:\nnogroup:x:65534:\n",
      ...extraFiles,
    };
    for (const [path, contents] of Object.entries(files)) {
      await mkdir(join(root, dirname(path)), { recursive: true });
      await writeFile(join(root, path), contents);
    }
    for (const dir of ["tmp", "input", "output", "root"]) await mkdir(join(root, dir));
    await chmod(join(root, "tmp"), 0o1777);
    const tarball = join(work, "rootfs.tar");
    await run("tar", [
      "-C",
      root,
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "-cf",
      tarball,
      ".",
    ]);
    await docker(["import", "--change", 'CMD ["/bin/sh"]', tarball, ref], 120_000);
    const id = await imageId(ref);
    if (id === undefined) throw new Error(`docker import did not create ${ref}`);
    return { ref, id };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The standard test image: busybox, tagged `conun-test/busybox:1`. */
export function busyboxImage(): Promise<TestImage> {
  return buildBusyboxImage("conun-test/busybox:1");
}

/** A second, different image (same busybox plus a marker file), for digest-mismatch tests. */
export function otherBusyboxImage(): Promise<TestImage> {
  return buildBusyboxImage("conun-test/busybox-other:1", { "etc/conun-marker": "other\n" });
}

/**
 * `docker save`s an image to a tarball — the form a manifest's `ipfs://` image reference
 * points at. Saving by ID writes an archive without tags.
 */
export async function saveImage(refOrId: string, destination: string): Promise<string> {
  await docker(["save", "-o", destination, refOrId], 120_000);
  return destination;
}

/** Removes an image (and its tags) if present; for tests of the load path. */
export async function removeImage(refOrId: string): Promise<void> {
  await docker(["image", "rm", "--force", refOrId], 60_000).catch(() => {});
}
