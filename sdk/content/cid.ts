import type { Blockstore } from "interface-blockstore";
import { type ImporterOptions, importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { CID } from "multiformats/cid";
import { ContentError } from "./errors.ts";

/** Multicodec codes the store accepts: raw leaves and dag-pb (UnixFS) nodes. */
export const RAW_CODE = 0x55;
export const DAG_PB_CODE = 0x70;
/** sha2-256, the only hash function accepted: it is what `ipfs add` uses by default. */
export const SHA2_256_CODE = 0x12;

/**
 * The importer settings of `ipfs add --cid-version 1` (Kubo): CIDv1, raw leaves, fixed
 * 256 KiB chunks, a balanced DAG of at most 174 links per node, and directories turned into
 * HAMT shards once their links exceed 256 KiB. Spelled out rather than left to the library's
 * defaults so that a library upgrade changing a default cannot silently change every CID.
 */
export function kuboImporterOptions(): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262_144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    shardSplitThresholdBytes: 262_144,
    shardSplitStrategy: "links-bytes",
    wrapWithDirectory: false,
  };
}

/**
 * Parses a CID string the store accepts: CIDv1 in its canonical base32 form, sha2-256,
 * codec raw or dag-pb. Anything else (CIDv0 `Qm…`, other bases or hashes, identity CIDs,
 * garbage) is `invalid-cid`: accepting several spellings of one CID would let two manifests
 * that differ only in spelling name the same content, and identity CIDs carry unverified
 * bytes inline.
 */
export function parseCid(text: string): CID {
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (error) {
    throw new ContentError("invalid-cid", `not a CID: ${JSON.stringify(text)}`, {
      cause: error,
    });
  }
  if (cid.version !== 1) {
    throw new ContentError("invalid-cid", `only CIDv1 is accepted, got CIDv0 ${text}`);
  }
  if (cid.toString() !== text) {
    throw new ContentError(
      "invalid-cid",
      `CID must be in canonical base32 form (${cid.toString()}), got ${text}`,
    );
  }
  if (cid.multihash.code !== SHA2_256_CODE) {
    throw new ContentError(
      "invalid-cid",
      `CID must use sha2-256, got multihash code 0x${cid.multihash.code.toString(16)}`,
    );
  }
  if (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE) {
    throw new ContentError(
      "invalid-cid",
      `CID codec must be raw (0x55) or dag-pb (0x70), got 0x${cid.code.toString(16)}`,
    );
  }
  return cid;
}

/** True when `text` is a CID string the store accepts (see parseCid). */
export function isValidCid(text: string): boolean {
  try {
    parseCid(text);
    return true;
  } catch {
    return false;
  }
}

/** A block sink that keeps nothing: computing a CID needs the DAG's hashes, not its blocks. */
export const discard: Pick<Blockstore, "put"> = { put: async (cid) => cid };

/** Imports one file's bytes into `sink`, returning the root CID. */
export async function importBytesTo(
  bytes: Uint8Array | AsyncIterable<Uint8Array>,
  sink: Pick<Blockstore, "put">,
): Promise<CID> {
  let root: CID | undefined;
  for await (const entry of importer([{ content: bytes }], sink, kuboImporterOptions())) {
    root = entry.cid;
  }
  if (root === undefined) throw new Error("importer produced no root");
  return root;
}

/** The CID `ipfs add --cid-version 1` gives these bytes, computed without storing anything. */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  return (await importBytesTo(bytes, discard)).toString();
}
