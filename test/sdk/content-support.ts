// Helpers shared by the content-store, IPFS and gateway tests: reproducible bytes and the
// block files blockstore-fs keeps on disk (so a test can corrupt or remove one).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { base32upper } from "multiformats/bases/base32";
import { CID } from "multiformats/cid";

/** Deterministic pseudo-random bytes (xorshift), so big files compress badly and differ. */
export function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Every block file of a blockstore-fs directory, sorted. */
export async function blockFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(dir)) {
    for (const name of await readdir(join(dir, shard))) out.push(join(dir, shard, name));
  }
  return out.sort();
}

/** Where blockstore-fs keeps a block (its default NextToLast layout). */
export async function blockFileOf(dir: string, cid: CID | string): Promise<string> {
  const key = (typeof cid === "string" ? CID.parse(cid) : cid).multihash.bytes;
  const name = `${base32upper.encoder.encode(key)}.data`;
  const found = (await blockFiles(dir)).find((file) => file.endsWith(`/${name}`));
  if (found === undefined) throw new Error(`no block file for ${cid}`);
  return found;
}

/** The rejection of `promise`; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the call succeeded");
}
