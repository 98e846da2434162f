import { createHash } from "node:crypto";
import type { Blockstore } from "interface-blockstore";
import type { CID } from "multiformats/cid";
import { DAG_PB_CODE, RAW_CODE, SHA2_256_CODE } from "./cid.ts";
import { ContentError } from "./errors.ts";

/**
 * Largest block accepted on read. `ipfs add` writes leaves of 256 KiB and interior nodes well
 * under 1 MiB; IPFS's exchange protocol refuses blocks over 2 MiB. Bounding the read stops a
 * hostile or corrupted store from making us buffer an arbitrarily large "block".
 */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024;

/**
 * Reads blocks from an underlying blockstore and re-hashes every one against its CID before
 * handing it out. Neither blockstore-fs nor ipfs-unixfs-exporter does this (the exporter
 * trusts the blockstore), so without it a flipped bit on disk would flow straight into a
 * container. Also exposes `get` in the Blockstore shape, so the exporter can read through it.
 */
export class VerifiedBlocks {
  readonly #store: Pick<Blockstore, "get" | "has">;

  constructor(store: Pick<Blockstore, "get" | "has">) {
    this.#store = store;
  }

  async has(cid: CID, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.#store.has(cid, options);
  }

  /** The block's bytes, verified; `content-not-found` or `content-mismatch` otherwise. */
  async getBlock(cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (
      cid.multihash.code !== SHA2_256_CODE ||
      (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE)
    ) {
      throw new ContentError("invalid-cid", `unsupported CID in DAG: ${cid.toString()}`);
    }
    options.signal?.throwIfAborted();
    const hash = createHash("sha256");
    const parts: Uint8Array[] = [];
    let length = 0;
    try {
      for await (const part of this.#store.get(cid, options)) {
        length += part.byteLength;
        if (length > MAX_BLOCK_BYTES) {
          throw new ContentError(
            "content-mismatch",
            `block ${cid.toString()} is larger than ${MAX_BLOCK_BYTES} bytes`,
          );
        }
        hash.update(part);
        parts.push(part);
      }
    } catch (error) {
      if (error instanceof ContentError) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      throw new ContentError("content-not-found", `block ${cid.toString()} is not available`, {
        cause: error,
        details: { cid: cid.toString() },
      });
    }
    const digest = hash.digest();
    if (!digest.equals(cid.multihash.digest)) {
      throw new ContentError(
        "content-mismatch",
        `block ${cid.toString()} does not hash to its CID (sha2-256 ${digest.toString("hex")}); refusing it`,
        { details: { cid: cid.toString() } },
      );
    }
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, length);
  }

  /** The Blockstore `get` shape, for ipfs-unixfs-exporter. */
  async *get(cid: CID, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    yield await this.getBlock(cid, options);
  }
}
