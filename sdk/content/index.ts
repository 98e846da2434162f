/**
 * The content store: CIDv1 (sha2-256) addressing identical to `ipfs add --cid-version 1`,
 * verified reads, streaming. See types.ts for the contract.
 */
import { ContentError } from "./errors.ts";
import { type IpfsContentStoreOptions, openIpfsContentStore } from "./ipfs.ts";
import { openLocalContentStore } from "./local.ts";
import type { ContentStore } from "./types.ts";

export { cidOf, isValidCid, parseCid } from "./cid.ts";
export { cidOfDirectory, cidOfFile } from "./cid-fs.ts";
export type { Collected } from "./collect.ts";
export { ContentError, type ContentErrorCode } from "./errors.ts";
export {
  type IpfsContentStore,
  type IpfsContentStoreOptions,
  openIpfsContentStore,
} from "./ipfs.ts";
export type { ContentStore } from "./types.ts";

/**
 * `local`: blocks in a directory (shared by processes on one machine or file system).
 * `ipfs`: the same directory plus an embedded IPFS node that fetches missing blocks from
 * connected peers over Bitswap (see ipfs.ts).
 */
export type ContentStoreOptions =
  | { kind: "local"; dir: string }
  | ({ kind: "ipfs" } & IpfsContentStoreOptions);

/** Opens a content store backend. */
export async function openContentStore(options: ContentStoreOptions): Promise<ContentStore> {
  switch (options.kind) {
    case "local":
      return openLocalContentStore(options.dir);
    case "ipfs":
      return openIpfsContentStore(options);
    default:
      throw new ContentError(
        "content-unsupported",
        `unknown content store kind ${JSON.stringify((options as { kind: unknown }).kind)}`,
      );
  }
}
export { tcpAddressProblem } from "./addresses.ts";
