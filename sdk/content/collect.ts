import * as dagPb from "@ipld/dag-pb";
import type { Blockstore } from "interface-blockstore";
import type { CID } from "multiformats/cid";
import { DAG_PB_CODE, parseCid } from "./cid.ts";
import { readBlock } from "./local.ts";

export interface Collected {
  /** Blocks deleted. */
  blocks: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * Deletes from `store` every block reachable from `roots` that is not reachable from `keep`
 * (content is shared by CID: the same file in two bundles is the same blocks). Only blocks
 * present locally are followed or deleted; a root that is gone already costs one lookup. A
 * block that does not decode is deleted without following it. For a store whose blocks its
 * caller owns: nobody else may be reading them.
 */
export async function collectBlocks(
  store: Pick<Blockstore, "get" | "has" | "delete">,
  roots: readonly string[],
  keep: readonly string[],
): Promise<Collected> {
  const kept = new Set<string>();
  await walk(store, keep.map(parseCid), (cid) => {
    kept.add(cid.toString());
    return true;
  });
  const doomed: CID[] = [];
  let bytes = 0;
  await walk(
    store,
    roots.map(parseCid),
    (cid) => !kept.has(cid.toString()),
    (cid, size) => {
      doomed.push(cid);
      bytes += size;
    },
  );
  for (const cid of doomed) await store.delete(cid);
  return { blocks: doomed.length, bytes };
}

/**
 * Visits each present block reachable from `roots` once, depth first without recursion (a
 * hostile DAG may be deep): `enter` decides whether to go into a block, `found` hears of it.
 */
async function walk(
  store: Pick<Blockstore, "get" | "has">,
  roots: CID[],
  enter: (cid: CID) => boolean,
  found?: (cid: CID, size: number) => void,
): Promise<void> {
  const seen = new Set<string>();
  const stack = [...roots];
  for (let cid = stack.pop(); cid !== undefined; cid = stack.pop()) {
    const key = cid.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    if (!enter(cid) || !(await store.has(cid))) continue;
    const bytes = await readBlock(store, cid);
    found?.(cid, bytes.byteLength);
    if (cid.code !== DAG_PB_CODE) continue;
    try {
      for (const link of dagPb.decode(bytes).Links) stack.push(link.Hash);
    } catch {
      // Not a dag-pb node after all (corrupt on disk): it goes, its children are not known.
    }
  }
}
