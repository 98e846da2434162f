import { FsBlockstore } from "blockstore-fs";
import type { Blockstore } from "interface-blockstore";
import type { CID } from "multiformats/cid";
import type { ContentStore } from "./types.ts";
import { UnixfsContentStore } from "./unixfs-store.ts";

/**
 * The embedded backend: blocks as files in a local directory (blockstore-fs layout, one file
 * per block named by its multihash), shared by every process that points at the same
 * directory. Writes are atomic (temporary file, then rename).
 */
export async function openLocalContentStore(dir: string): Promise<ContentStore> {
  const blockstore = new FsBlockstore(dir);
  await blockstore.open();
  return new UnixfsContentStore(dedupingPuts(blockstore), () => blockstore.close());
}

/**
 * blockstore-fs writes every block through one fixed temporary name per block, so two
 * concurrent puts of the same block (a file with repeated chunks: zeros, padding) collide on
 * the rename and back off 100 ms per retry — a 64 MiB file of repeated chunks took 24 s to
 * add. Content addressing makes a second write of a present block pointless anyway: skip it,
 * and let concurrent puts of one CID share a single write.
 */
export function dedupingPuts(store: FsBlockstore): Pick<Blockstore, "put" | "get" | "has"> {
  const inFlight = new Map<string, Promise<CID>>();
  return {
    get: (cid, options) => store.get(cid, options),
    has: (cid, options) => store.has(cid, options),
    put: (cid, bytes, options) => {
      const key = cid.toString();
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const write = (async () => {
        try {
          if (await store.has(cid, options)) return cid;
          return await store.put(cid, bytes, options);
        } finally {
          inFlight.delete(key);
        }
      })();
      inFlight.set(key, write);
      return write;
    },
  };
}

/** A block's bytes as the blockstore holds them, in one piece (not verified: see VerifiedBlocks). */
export async function readBlock(
  store: Pick<Blockstore, "get">,
  cid: CID,
  options?: { signal?: AbortSignal },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.get(cid, options)) chunks.push(chunk);
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks);
}
