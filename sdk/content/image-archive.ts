// The one reader of `docker save` image archives: just enough of the tar format (ustar headers,
// PAX extended headers, GNU long names — what Go's archive/tar, and so `docker save`, writes)
// to read the image ID an archive's image will get and to strip its tags before the engine
// sees it. The requester computes a manifest's image.id with it; the worker checks and
// sanitises an archive from the content store with it before loading.
//
// Pure, free of Node built-ins: it reads through an ArchiveReader (positioned reads, so a
// large image is never loaded whole); image-archive-file.ts, beside it, reads files.
import { sha256 } from "ethers";
import { ContentError } from "./errors.ts";

/** Positioned reads over an archive's bytes. */
export interface ArchiveReader {
  /** Total size in bytes. */
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

const BLOCK = 512;
/** Metadata files are small; anything bigger is not a `docker save` archive. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export interface TarEntry {
  name: string;
  type: string;
  size: number;
  /** Offset of the first header of this entry (its PAX/long-name header, if any). */
  start: number;
  dataOffset: number;
  /** Offset just past the padded data. */
  end: number;
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

const utf8 = new TextDecoder();
const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

function invalid(message: string, details: Record<string, unknown> = {}): ContentError {
  return new ContentError("image-archive-invalid", `image archive: ${message}`, { details });
}

function cString(block: Uint8Array, from: number, to: number): string {
  const slice = block.subarray(from, to);
  const nul = slice.indexOf(0);
  return utf8.decode(slice.subarray(0, nul === -1 ? slice.length : nul));
}

function parseSize(field: Uint8Array): number {
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

function checksumOk(block: Uint8Array): boolean {
  const stored = Number.parseInt(cString(block, 148, 156).trim() || "NaN", 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === stored;
}

function paxPath(data: Uint8Array): string | undefined {
  let path: string | undefined;
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(latin1.decode(data.subarray(offset, space)), 10);
    if (!Number.isSafeInteger(length) || length <= 0) throw invalid("malformed PAX header");
    const record = utf8.decode(data.subarray(space + 1, offset + length - 1));
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    offset += length;
  }
  return path;
}

async function readExactly(
  reader: ArchiveReader,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const bytes = await reader.read(offset, length);
  if (bytes.length !== length) throw invalid("truncated", { offset, length });
  return bytes;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** Every entry of the archive, with its offsets; refuses a damaged or unterminated tar. */
export async function listEntries(reader: ArchiveReader): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const fileSize = reader.size;
  let offset = 0;
  let start = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= fileSize) {
    const header = await readExactly(reader, offset, BLOCK);
    if (header.every((byte) => byte === 0)) return entries;
    if (!checksumOk(header)) throw invalid("bad header checksum", { offset });
    const type = String.fromCharCode(header[156] || 0x30);
    const size = parseSize(header.subarray(124, 136));
    const dataOffset = offset + BLOCK;
    const end = dataOffset + padded(size);
    if (end > fileSize) throw invalid("entry runs past the end", { offset });
    if (type === "x" || type === "L") {
      if (size > MAX_METADATA_BYTES) throw invalid("oversized extended header");
      const data = await readExactly(reader, dataOffset, size);
      longName = type === "x" ? (paxPath(data) ?? longName) : cString(data, 0, data.length);
      offset = end;
      continue;
    }
    if (type === "g" || type === "K") {
      offset = end;
      continue;
    }
    const magic = latin1.decode(header.subarray(257, 263));
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
function fileHeader(name: string, size: number): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const put = (text: string, at: number) => header.set(ascii.encode(text), at);
  put(name.slice(0, 100), 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${size.toString(8).padStart(11, "0")}\0`, 124);
  put("00000000000\0", 136);
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return header;
}

async function readJsonEntry(reader: ArchiveReader, entry: TarEntry): Promise<unknown> {
  if (entry.size > MAX_METADATA_BYTES) throw invalid(`${entry.name} is too large`);
  try {
    return JSON.parse(utf8.decode(await readExactly(reader, entry.dataOffset, entry.size)));
  } catch (cause) {
    if (cause instanceof ContentError) throw cause;
    throw invalid(`${entry.name} is not JSON`);
  }
}

/**
 * Reads an archive's `manifest.json` and hashes its image config, so that an archive whose
 * image is not the expected one can be refused before the engine loads anything. An archive
 * must hold exactly one image. `path` only names the archive in the result.
 */
export async function inspectImageArchive(
  reader: ArchiveReader,
  path: string,
): Promise<ImageArchive> {
  const entries = await listEntries(reader);
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const manifestEntry = byName.get("manifest.json");
  if (manifestEntry === undefined) throw invalid("no manifest.json (not a `docker save` tar)");
  const manifest = await readJsonEntry(reader, manifestEntry);
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
  const config = await readExactly(reader, configEntry.dataOffset, configEntry.size);
  const imageId = `sha256:${sha256(config).slice(2)}`;
  const repoTags = Array.isArray(image.RepoTags) ? image.RepoTags.map(String) : [];
  const indexEntry = byName.get("index.json");
  const index = indexEntry === undefined ? undefined : await readJsonEntry(reader, indexEntry);
  return { path, imageId, repoTags, entries, manifest: manifest as ManifestEntry[], index };
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
export async function* sanitizedArchive(
  archive: ImageArchive,
  reader: ArchiveReader,
): AsyncGenerator<Uint8Array> {
  const replacements = new Map<string, Uint8Array>([
    [
      "manifest.json",
      ascii.encode(JSON.stringify(archive.manifest.map((m) => ({ ...m, RepoTags: null })))),
    ],
  ]);
  if (archive.index !== undefined) {
    replacements.set("index.json", ascii.encode(JSON.stringify(untaggedIndex(archive.index))));
  }
  for (const entry of archive.entries) {
    if (entry.name === "repositories") continue;
    const replacement = replacements.get(entry.name);
    if (replacement !== undefined) {
      yield fileHeader(entry.name, replacement.length);
      const body = new Uint8Array(padded(replacement.length));
      body.set(replacement);
      yield body;
      continue;
    }
    const chunk = 1 << 20;
    for (let offset = entry.start; offset < entry.end; offset += chunk) {
      yield await readExactly(reader, offset, Math.min(chunk, entry.end - offset));
    }
  }
  yield new Uint8Array(2 * BLOCK);
}
