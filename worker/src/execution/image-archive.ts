import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { ContentError } from "../../../sdk/content/errors.ts";

/**
 * Just enough of the tar format to inspect and sanitise a `docker save` archive before the
 * engine sees it: ustar headers, PAX extended headers and GNU long names (what Go's
 * archive/tar, and so `docker save`, writes).
 */

const BLOCK = 512;
/** Metadata files are small; anything bigger is not a `docker save` archive. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

interface TarEntry {
  name: string;
  type: string;
  size: number;
  /** Offset of the first header of this entry (its PAX/long-name header, if any). */
  start: number;
  dataOffset: number;
  /** Offset just past the padded data. */
  end: number;
}

function invalid(message: string, details: Record<string, unknown> = {}): ContentError {
  return new ContentError("image-archive-invalid", `image archive: ${message}`, { details });
}

function cString(block: Buffer, from: number, to: number): string {
  const slice = block.subarray(from, to);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? slice.length : nul).toString("utf8");
}

function parseSize(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0n;
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i] ?? 0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("entry too large");
    return Number(value);
  }
  const text = cString(field, 0, field.length).trim();
  if (!/^[0-7]*$/.test(text)) throw invalid("malformed size field");
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = Number.parseInt(cString(block, 148, 156).trim() || "NaN", 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === stored;
}

function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(offset, space).toString("ascii"), 10);
    if (!Number.isSafeInteger(length) || length <= 0) throw invalid("malformed PAX header");
    const record = data.subarray(space + 1, offset + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    offset += length;
  }
  return path;
}

async function readExactly(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, offset);
  if (bytesRead !== length) throw invalid("truncated", { offset, length });
  return buffer;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

async function listEntries(file: FileHandle, fileSize: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let offset = 0;
  let start = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= fileSize) {
    const header = await readExactly(file, offset, BLOCK);
    if (header.every((byte) => byte === 0)) return entries;
    if (!checksumOk(header)) throw invalid("bad header checksum", { offset });
    const type = String.fromCharCode(header[156] || 0x30);
    const size = parseSize(header.subarray(124, 136));
    const dataOffset = offset + BLOCK;
    const end = dataOffset + padded(size);
    if (end > fileSize) throw invalid("entry runs past the end", { offset });
    if (type === "x" || type === "L") {
      if (size > MAX_METADATA_BYTES) throw invalid("oversized extended header");
      const data = await readExactly(file, dataOffset, size);
      longName = type === "x" ? (paxPath(data) ?? longName) : cString(data, 0, data.length);
      offset = end;
      continue;
    }
    if (type === "g" || type === "K") {
      offset = end;
      continue;
    }
    const magic = header.subarray(257, 263).toString("latin1");
    const prefix = magic === "ustar\0" ? cString(header, 345, 500) : "";
    const shortName = cString(header, 0, 100);
    const name = longName ?? (prefix === "" ? shortName : `${prefix}/${shortName}`);
    entries.push({ name: name.replace(/^\.\//, ""), type, size, start, dataOffset, end });
    longName = undefined;
    offset = end;
    start = end;
  }
  throw invalid("no end-of-archive marker");
}

/** A header for a regular file of `size` bytes, named `name` (< 100 bytes). */
function fileHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100, "ascii");
  header.write("0000000\0", 108, "ascii");
  header.write("0000000\0", 116, "ascii");
  header.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii");
  header.write("00000000000\0", 136, "ascii");
  header.write("        ", 148, "ascii");
  header.write("0", 156, "ascii");
  header.write("ustar\0", 257, "latin1");
  header.write("00", 263, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return header;
}

interface ManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

/** What a `docker save` archive holds, and the ID its one image will get when loaded. */
export interface ImageArchive {
  path: string;
  /** `sha256:` + the hex SHA-256 of the image's config: the image ID the engine assigns. */
  imageId: string;
  /** Tags the archive would apply on load (they are stripped by `sanitizedArchive`). */
  repoTags: string[];
  entries: TarEntry[];
  manifest: ManifestEntry[];
  index?: unknown;
}

async function readJsonEntry(file: FileHandle, entry: TarEntry): Promise<unknown> {
  if (entry.size > MAX_METADATA_BYTES) throw invalid(`${entry.name} is too large`);
  try {
    return JSON.parse((await readExactly(file, entry.dataOffset, entry.size)).toString("utf8"));
  } catch (cause) {
    if (cause instanceof ContentError) throw cause;
    throw invalid(`${entry.name} is not JSON`);
  }
}

/**
 * Reads an archive's `manifest.json` and hashes its image config, so that an archive whose
 * image is not the expected one can be refused before the engine loads anything. An archive
 * must hold exactly one image.
 */
export async function inspectImageArchive(path: string): Promise<ImageArchive> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const entries = await listEntries(file, size);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const manifestEntry = byName.get("manifest.json");
    if (manifestEntry === undefined) throw invalid("no manifest.json (not a `docker save` tar)");
    const manifest = await readJsonEntry(file, manifestEntry);
    if (!Array.isArray(manifest) || manifest.length !== 1) {
      throw invalid("manifest.json must list exactly one image");
    }
    const image = manifest[0] as ManifestEntry;
    if (typeof image.Config !== "string") throw invalid("manifest.json has no Config");
    const configEntry = byName.get(image.Config.replace(/^\.\//, ""));
    if (configEntry === undefined || configEntry.type !== "0") {
      throw invalid("the image config named by manifest.json is missing");
    }
    if (configEntry.size > MAX_METADATA_BYTES) throw invalid("image config is too large");
    const config = await readExactly(file, configEntry.dataOffset, configEntry.size);
    const imageId = `sha256:${createHash("sha256").update(config).digest("hex")}`;
    const repoTags = Array.isArray(image.RepoTags) ? image.RepoTags.map(String) : [];
    const indexEntry = byName.get("index.json");
    const index = indexEntry === undefined ? undefined : await readJsonEntry(file, indexEntry);
    return { path, imageId, repoTags, entries, manifest: manifest as ManifestEntry[], index };
  } finally {
    await file.close();
  }
}

/** Annotations through which an OCI-layout archive would name (tag) the image on load. */
const NAMING_ANNOTATIONS = ["io.containerd.image.name", "org.opencontainers.image.ref.name"];

function untaggedIndex(index: unknown): unknown {
  if (typeof index !== "object" || index === null) return index;
  const copy = structuredClone(index) as { manifests?: { annotations?: Record<string, string> }[] };
  for (const manifest of copy.manifests ?? []) {
    for (const key of NAMING_ANNOTATIONS) delete manifest.annotations?.[key];
  }
  return copy;
}

/**
 * The archive as a byte stream with every tag removed (`RepoTags`, the legacy `repositories`
 * file, OCI naming annotations): loading a job's image must never re-point a tag the provider
 * uses (`ubuntu:latest`, …) at an attacker's image. Everything else is copied verbatim.
 */
export async function* sanitizedArchive(archive: ImageArchive): AsyncGenerator<Buffer> {
  const replacements = new Map<string, Buffer>([
    [
      "manifest.json",
      Buffer.from(JSON.stringify(archive.manifest.map((m) => ({ ...m, RepoTags: null })))),
    ],
  ]);
  if (archive.index !== undefined) {
    replacements.set("index.json", Buffer.from(JSON.stringify(untaggedIndex(archive.index))));
  }
  const file = await open(archive.path, "r");
  try {
    for (const entry of archive.entries) {
      if (entry.name === "repositories") continue;
      const replacement = replacements.get(entry.name);
      if (replacement !== undefined) {
        yield fileHeader(entry.name, replacement.length);
        yield Buffer.concat([
          replacement,
          Buffer.alloc(padded(replacement.length) - replacement.length),
        ]);
        continue;
      }
      const chunk = 1 << 20;
      for (let offset = entry.start; offset < entry.end; offset += chunk) {
        yield await readExactly(file, offset, Math.min(chunk, entry.end - offset));
      }
    }
    yield Buffer.alloc(2 * BLOCK);
  } finally {
    await file.close();
  }
}
