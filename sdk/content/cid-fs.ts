// The file-system edge of cid.ts: CIDs of files and directory trees read from disk (Node only;
// cid.ts itself is pure, so the dApp's manifest checks can import it).
import { createReadStream } from "node:fs";
import type { Blockstore } from "interface-blockstore";
import { importer } from "ipfs-unixfs-importer";
import type { CID } from "multiformats/cid";
import { discard, importBytesTo, kuboImporterOptions } from "./cid.ts";
import { directoryCandidates } from "./directory-source.ts";

/** Imports a directory tree into `sink` (symlinks and special files are refused). */
export async function importDirectoryTo(path: string, sink: Pick<Blockstore, "put">): Promise<CID> {
  let root: CID | undefined;
  const { rootName, candidates } = directoryCandidates(path);
  for await (const entry of importer(candidates, sink, kuboImporterOptions())) {
    if (entry.path === rootName) root = entry.cid;
  }
  if (root === undefined) throw new Error("importer produced no root directory");
  return root;
}

/** The CID of a file's contents, streamed from disk, computed without storing anything. */
export async function cidOfFile(path: string): Promise<string> {
  return (await importBytesTo(createReadStream(path), discard)).toString();
}

/** The CID of a directory tree (as `ipfs add -r -H --cid-version 1`), without storing. */
export async function cidOfDirectory(path: string): Promise<string> {
  return (await importDirectoryTo(path, discard)).toString();
}
