// Test images built on this machine, with no registry: a root file system holding Debian's
// statically linked busybox (package `busybox-static`) and its applet links, imported with
// `docker import`. Building is idempotent: an existing tag is reused, so only the first test
// run on a machine pays the ~1 s import.
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../sdk/net.ts";

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

/** A registry running on loopback (Debian's `docker-registry`), for the pull-by-digest path. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`; the engine treats loopback registries as insecure (plain HTTP). */
  host: string;
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on a free loopback port with its storage in a temporary
 * directory. Needs Debian's `docker-registry` package (CI installs it).
 */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const { spawn } = await import("node:child_process");
  const work = await mkdtemp(join(tmpdir(), "conun-registry-"));
  const port = await freePort();
  const config = join(work, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${join(work, "data")} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    await rm(work, { recursive: true, force: true });
  };
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([
      spawnError,
      new Promise((r) => setTimeout(r, 100, undefined)),
    ]);
    if (failed instanceof Error) {
      await stop();
      throw new Error(
        `cannot start docker-registry (apt-get install docker-registry): ${failed.message}`,
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (response.ok) return { host: `127.0.0.1:${port}`, stop };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
  }
  await stop();
  throw new Error(`docker-registry did not come up on port ${port}: ${stderr}`);
}

/**
 * Pushes a local image to `registry` as `<registry>/<name>` and returns the reference
 * pinned by the manifest digest the registry reports, e.g. `127.0.0.1:5000/x@sha256:…`.
 * The temporary tag is removed again.
 */
export async function pushImage(image: TestImage, registry: LocalRegistry, name: string) {
  const tag = `${registry.host}/${name}`;
  await docker(["tag", image.id, tag]);
  try {
    const out = await docker(["push", tag], 120_000);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
    if (digest === undefined) throw new Error(`no digest in docker push output: ${out}`);
    return `${registry.host}/${name.replace(/:[^/]*$/, "")}@${digest}`;
  } finally {
    await docker(["image", "rm", tag], 60_000).catch(() => {});
  }
}
