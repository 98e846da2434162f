import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as dagPb from "@ipld/dag-pb";
import type { Blockstore } from "interface-blockstore";
import { UnixFS } from "ipfs-unixfs";
import { exporter, type UnixFSEntry } from "ipfs-unixfs-exporter";
import type { CID } from "multiformats/cid";
import { DAG_PB_CODE, importBytesTo, parseCid, RAW_CODE } from "./cid.ts";
import { importDirectoryTo } from "./cid-fs.ts";
import { ContentError } from "./errors.ts";
import type { ContentStore } from "./types.ts";
import { VerifiedBlocks } from "./verified-blocks.ts";

export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Blocks fetched ahead of the consumer while streaming a file: hides per-block latency on a
 * network backend while keeping memory bounded (at most this many 256 KiB leaves). */
const READ_AHEAD = 8;
/** A balanced 174-ary DAG of 256 KiB leaves reaches exabytes by depth 6; anything much deeper
 * is hostile and would only exhaust the stack. */
const MAX_DAG_DEPTH = 32;

/**
 * A ContentStore over any blockstore: UnixFS import as `ipfs add --cid-version 1`, and reads
 * that verify every block (VerifiedBlocks) and stream files leaf by leaf, in order, with a
 * small bounded read-ahead. The exporter's own file reader is not used for content because
 * it queues blocks without back-pressure (a slow consumer would buffer the whole file).
 */
export class UnixfsContentStore implements ContentStore {
  readonly #store: Pick<Blockstore, "put" | "get" | "has">;
  readonly #blocks: VerifiedBlocks;
  readonly #onClose: () => Promise<void>;

  constructor(store: Pick<Blockstore, "put" | "get" | "has">, onClose: () => Promise<void>) {
    this.#store = store;
    this.#blocks = new VerifiedBlocks(store);
    this.#onClose = onClose;
  }

  async addBytes(bytes: Uint8Array): Promise<string> {
    return (await importBytesTo(bytes, this.#store)).toString();
  }

  async addFile(path: string): Promise<string> {
    const info = await lstat(path);
    if (!info.isFile()) {
      throw new ContentError("content-unsupported", `not a regular file: ${path}`, {
        details: { path },
      });
    }
    return (await importBytesTo(createReadStream(path), this.#store)).toString();
  }

  async addDirectory(path: string): Promise<string> {
    return (await importDirectoryTo(path, this.#store)).toString();
  }

  async has(cidText: string): Promise<boolean> {
    const cid = parseCid(cidText);
    try {
      return await this.#hasAll(cid, 0);
    } catch (error) {
      if (error instanceof ContentError && error.code === "content-not-found") return false;
      throw error;
    }
  }

  async #hasAll(cid: CID, depth: number): Promise<boolean> {
    if (depth > MAX_DAG_DEPTH) throw tooDeep(cid);
    // Raw leaves have no links: presence is enough. Interior nodes must be read (verified)
    // to learn their children.
    if (cid.code === RAW_CODE) return this.#blocks.has(cid);
    if (!(await this.#blocks.has(cid))) return false;
    const node = dagPb.decode(await this.#blocks.getBlock(cid));
    for (const link of node.Links) {
      if (!(await this.#hasAll(link.Hash, depth + 1))) return false;
    }
    return true;
  }

  async getBytes(
    cidText: string,
    options: { maxBytes?: number; signal?: AbortSignal } = {},
  ): Promise<Uint8Array> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const cid = parseCid(cidText);
    const size = await this.#fileSize(cid, options.signal);
    if (size > BigInt(maxBytes)) {
      throw new ContentError(
        "content-too-large",
        `${cidText} is ${size} bytes, more than the ${maxBytes} allowed`,
        { details: { cid: cidText, size: Number(size), maxBytes } },
      );
    }
    const out = new Uint8Array(Number(size));
    let offset = 0;
    for await (const chunk of this.#fileContent(cid, options.signal)) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  async *stream(
    cidText: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<Uint8Array> {
    yield* this.#fileContent(parseCid(cidText), options.signal);
  }

  async exportTo(
    cidText: string,
    destination: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ kind: "file" | "directory"; bytes: number }> {
    const cid = parseCid(cidText);
    if (await exists(destination)) {
      throw new ContentError("content-destination-exists", `${destination} already exists`, {
        details: { destination },
      });
    }
    await mkdir(dirname(destination), { recursive: true });
    // Written under a temporary sibling name and renamed at the end, so a verification
    // failure half-way never leaves a partial tree where the caller expects content.
    const staging = join(
      dirname(destination),
      `.${basename(destination)}.partial-${randomBytes(6).toString("hex")}`,
    );
    try {
      const root = await this.#resolve(cid, options.signal);
      let result: { kind: "file" | "directory"; bytes: number };
      if (root.type === "directory") {
        const bytes = await this.#writeDirectory(root.cid, staging, 0, options.signal);
        result = { kind: "directory", bytes };
      } else {
        result = { kind: "file", bytes: await this.#writeFile(cid, staging, options.signal) };
      }
      await rename(staging, destination);
      return result;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#onClose();
  }

  /** Resolves a CID to its UnixFS entry kind, reading only the root block (verified). */
  async #resolve(cid: CID, signal: AbortSignal | undefined): Promise<UnixFSEntry> {
    let entry: UnixFSEntry;
    try {
      entry = await exporter(cid, this.#blocks, { signal });
    } catch (error) {
      if (error instanceof ContentError) throw error;
      if (signal?.aborted) throw signal.reason;
      throw new ContentError("content-unsupported", `${cid} is not UnixFS content`, {
        cause: error,
      });
    }
    if (entry.type !== "file" && entry.type !== "raw" && entry.type !== "directory") {
      throw new ContentError("content-unsupported", `${cid} is a UnixFS ${entry.type}`);
    }
    if (entry.type === "file" && entry.unixfs.type !== "file" && entry.unixfs.type !== "raw") {
      throw new ContentError("content-unsupported", `${cid} is a UnixFS ${entry.unixfs.type}`);
    }
    return entry;
  }

  async #fileSize(cid: CID, signal: AbortSignal | undefined): Promise<bigint> {
    const entry = await this.#resolve(cid, signal);
    if (entry.type === "directory") {
      throw new ContentError("content-unsupported", `${cid} is a directory, not a file`);
    }
    return entry.size;
  }

  /** A file's bytes in order, every block verified, sizes checked against the UnixFS data. */
  async *#fileContent(cid: CID, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const block = await this.#blocks.getBlock(cid, { signal });
    if (cid.code === RAW_CODE) {
      if (block.byteLength > 0) yield block;
      return;
    }
    const { node, unixfs } = decodeFileNode(cid, block);
    const expected = unixfs.fileSize();
    let produced = 0n;
    for await (const chunk of this.#walkFile(cid, node, unixfs, 0, signal)) {
      produced += BigInt(chunk.byteLength);
      yield chunk;
    }
    if (produced !== expected) throw inconsistent(cid, `${produced} bytes, expected ${expected}`);
  }

  async *#walkFile(
    cid: CID,
    node: dagPb.PBNode,
    unixfs: UnixFS,
    depth: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array> {
    if (depth > MAX_DAG_DEPTH) throw tooDeep(cid);
    if (unixfs.data !== undefined && unixfs.data.byteLength > 0) yield unixfs.data;
    if (node.Links.length !== unixfs.blockSizes.length) {
      throw inconsistent(cid, "link count differs from block size count");
    }
    const links = node.Links;
    const pending: Promise<Uint8Array>[] = [];
    const fetch = (index: number) => {
      const link = links[index];
      if (link === undefined) return;
      const promise = this.#blocks.getBlock(link.Hash, { signal });
      // Read-ahead may be abandoned when the consumer stops early; its failure is reported
      // when (if) it is awaited below, never as an unhandled rejection.
      promise.catch(() => {});
      pending.push(promise);
    };
    for (let i = 0; i < Math.min(READ_AHEAD, links.length); i++) fetch(i);
    for (let i = 0; i < links.length; i++) {
      const link = links[i] as dagPb.PBLink;
      const childBlock = await (pending.shift() as Promise<Uint8Array>);
      fetch(i + READ_AHEAD);
      const declared = unixfs.blockSizes[i] as bigint;
      if (link.Hash.code === RAW_CODE) {
        if (BigInt(childBlock.byteLength) !== declared) {
          throw inconsistent(cid, `leaf ${i} has ${childBlock.byteLength} bytes, not ${declared}`);
        }
        if (childBlock.byteLength > 0) yield childBlock;
        continue;
      }
      const child = decodeFileNode(link.Hash, childBlock);
      if (child.unixfs.fileSize() !== declared) {
        throw inconsistent(cid, `child ${i} has ${child.unixfs.fileSize()} bytes, not ${declared}`);
      }
      yield* this.#walkFile(link.Hash, child.node, child.unixfs, depth + 1, signal);
    }
  }

  async #writeFile(cid: CID, path: string, signal: AbortSignal | undefined): Promise<number> {
    const handle = await open(path, "wx", 0o644);
    let bytes = 0;
    try {
      for await (const chunk of this.#fileContent(cid, signal)) {
        await handle.write(chunk);
        bytes += chunk.byteLength;
      }
    } finally {
      await handle.close();
    }
    return bytes;
  }

  async #writeDirectory(
    cid: CID,
    path: string,
    depth: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    if (depth > MAX_DAG_DEPTH) throw tooDeep(cid);
    const entry = await this.#resolve(cid, signal);
    if (entry.type !== "directory") throw new Error("unreachable: not a directory");
    await mkdir(path);
    let bytes = 0;
    const seen = new Set<string>();
    // entries() lists both plain and HAMT-sharded directories; children are resolved (and
    // verified) one by one as they are written.
    for await (const child of entry.entries({ signal })) {
      checkEntryName(cid, child.name);
      if (seen.has(child.name)) throw inconsistent(cid, `duplicate entry ${child.name}`);
      seen.add(child.name);
      const target = join(path, child.name);
      const kind = await this.#resolve(child.cid, signal);
      if (kind.type === "directory") {
        bytes += await this.#writeDirectory(child.cid, target, depth + 1, signal);
      } else {
        bytes += await this.#writeFile(child.cid, target, signal);
      }
    }
    return bytes;
  }
}

function decodeFileNode(cid: CID, block: Uint8Array): { node: dagPb.PBNode; unixfs: UnixFS } {
  if (cid.code !== DAG_PB_CODE) throw inconsistent(cid, "unexpected codec");
  let node: dagPb.PBNode;
  let unixfs: UnixFS;
  try {
    node = dagPb.decode(block);
    if (node.Data === undefined) throw new Error("no UnixFS data");
    unixfs = UnixFS.unmarshal(node.Data);
  } catch (error) {
    throw new ContentError("content-unsupported", `${cid} is not a UnixFS node`, {
      cause: error,
    });
  }
  if (unixfs.type !== "file" && unixfs.type !== "raw") {
    throw new ContentError("content-unsupported", `${cid} is a UnixFS ${unixfs.type}, not a file`);
  }
  return { node, unixfs };
}

/**
 * Entry names come from the DAG, which anyone can craft: a name like `..` or `a/b` would
 * make a naive export write outside the destination.
 */
function checkEntryName(cid: CID, name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new ContentError(
      "content-unsupported",
      `directory ${cid} has an unsafe entry name ${JSON.stringify(name)}`,
      { details: { cid: cid.toString(), name } },
    );
  }
}

function inconsistent(cid: CID, what: string): ContentError {
  return new ContentError("content-unsupported", `${cid}: inconsistent UnixFS file (${what})`, {
    details: { cid: cid.toString() },
  });
}

function tooDeep(cid: CID): ContentError {
  return new ContentError("content-unsupported", `${cid}: DAG deeper than ${MAX_DAG_DEPTH}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
