// Reads the image ID out of a `docker save` archive without Docker: the archive's
// manifest.json names the image's config blob, and the image ID is the SHA-256 of that blob.
// The tar is walked header by header with positioned reads, so a large image is never loaded.
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { RequesterError } from "./errors.ts";

const BLOCK = 512;
/** manifest.json and the config blob are small; anything bigger is not a `docker save` tar. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

/**
 * The image ID (`sha256:<64 hex>`) of the image in a `docker save` archive. A path that is not
 * there (or not a file) is one line naming it and the fix, not a file-system stack trace.
 */
export async function imageIdOfArchive(archive: string): Promise<string> {
  const info = await stat(archive).catch((cause: NodeJS.ErrnoException) => {
    throw new RequesterError(
      "manifest-invalid",
      cause.code === "ENOENT" || cause.code === "ENOTDIR"
        ? `image.archive: ${archive} does not exist: save the image there with ` +
            `\`docker save -o ${archive} <image>\`, or fix the path (it is relative to the manifest)`
        : `image.archive: cannot read ${archive} (${cause.code ?? cause.message})`,
      { cause, details: { archive } },
    );
  });
  if (!info.isFile()) {
    throw new RequesterError(
      "manifest-invalid",
      `image.archive: ${archive} is not a file: name the \`docker save\` tarball itself`,
      { details: { archive } },
    );
  }
  const entries = await readTarEntries(archive, (name) => name === "manifest.json");
  const manifestBytes = entries.get("manifest.json");
  if (manifestBytes === undefined) {
    throw invalid(archive, "it has no manifest.json (is it a `docker save` archive?)");
  }
  let configName: unknown;
  try {
    const manifest = JSON.parse(manifestBytes.toString("utf8")) as { Config?: unknown }[];
    if (!Array.isArray(manifest) || manifest.length !== 1) {
      throw invalid(archive, "its manifest.json must describe exactly one image");
    }
    configName = manifest[0]?.Config;
  } catch (cause) {
    if (cause instanceof RequesterError) throw cause;
    throw invalid(archive, "its manifest.json is not valid JSON", cause);
  }
  if (typeof configName !== "string") throw invalid(archive, "manifest.json names no Config");
  const config = (await readTarEntries(archive, (name) => name === configName)).get(configName);
  if (config === undefined) throw invalid(archive, `the config blob ${configName} is missing`);
  return `sha256:${createHash("sha256").update(config).digest("hex")}`;
}

function invalid(archive: string, why: string, cause?: unknown): RequesterError {
  return new RequesterError("image-archive-invalid", `image archive ${archive}: ${why}`, {
    cause,
    details: { archive },
  });
}

async function readTarEntries(
  archive: string,
  wanted: (name: string) => boolean,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const file = await open(archive, "r");
  try {
    const header = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    for (;;) {
      const { bytesRead } = await file.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK || header.every((byte) => byte === 0)) break;
      const size = Number.parseInt(field(header, 124, 12) || "0", 8);
      if (!Number.isSafeInteger(size) || size < 0) throw invalid(archive, "corrupt tar header");
      const type = String.fromCharCode(header[156] ?? 0);
      const prefix = field(header, 345, 155);
      const baseName = field(header, 0, 100);
      const name = longName ?? (prefix ? `${prefix}/${baseName}` : baseName);
      longName = undefined;
      const dataStart = offset + BLOCK;
      if (type === "L" || type === "x") {
        // GNU long names and pax headers carry the real name of the next entry.
        const body = await readAt(file, dataStart, Math.min(size, MAX_METADATA_BYTES));
        longName = type === "L" ? body.toString("utf8").replace(/\0+$/, "") : paxPath(body);
      } else if ((type === "0" || type === "\0") && wanted(name.replace(/^\.\//, ""))) {
        if (size > MAX_METADATA_BYTES) throw invalid(archive, `${name} is unexpectedly large`);
        found.set(name.replace(/^\.\//, ""), await readAt(file, dataStart, size));
      }
      offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await file.close();
  }
  return found;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw
    .subarray(0, end === -1 ? length : end)
    .toString("utf8")
    .trim();
}

function paxPath(body: Buffer): string | undefined {
  for (const record of body.toString("utf8").split("\n")) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

async function readAt(
  file: Awaited<ReturnType<typeof open>>,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}
