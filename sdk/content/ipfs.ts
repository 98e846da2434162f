import { createHash } from "node:crypto";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { createBitswap } from "@helia/bitswap";
import { identify } from "@libp2p/identify";
import type { Libp2p } from "@libp2p/interface";
import { defaultLogger } from "@libp2p/logger";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { FsBlockstore } from "blockstore-fs";
import type { Blockstore } from "interface-blockstore";
import { createLibp2p } from "libp2p";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { isConunError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { type Collected, collectBlocks } from "./collect.ts";
import { ContentError } from "./errors.ts";
import { dedupingPuts, readBlock } from "./local.ts";
import { SharedLoads, Slots } from "./shared-loads.ts";
import type { ContentStore } from "./types.ts";
import { UnixfsContentStore } from "./unixfs-store.ts";
import { VerifiedBlocks } from "./verified-blocks.ts";

export interface IpfsContentStoreOptions {
  /** Where this node keeps its blocks (the same layout as the local backend). */
  dir: string;
  /** libp2p listen addresses; default one TCP port on loopback chosen by the OS. */
  listen?: string[];
  /** Multiaddrs (with /p2p/<peer id>) of nodes to connect to at start: the requester's node,
   * other workers, or a Kubo node's swarm address. */
  peers?: string[];
  /** How long a read waits for a missing block from connected peers (default 30 s). */
  fetchTimeoutMs?: number;
  log?: Logger;
}

/** A content store that is also an IPFS node, so it can tell others how to reach it. */
export interface IpfsContentStore extends ContentStore {
  /** This node's addresses, each ending in /p2p/<peer id>, for other nodes' `peers`. */
  multiaddrs(): string[];
  /** Connects to another node (bounded by `timeoutMs`, default 10 s). */
  connect(address: string, options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Deletes this node's blocks reachable from `roots` and not from `keep` (collect.ts). The
   * node's directory is its own: content gone here is still wherever else it is kept.
   */
  collect(roots: readonly string[], keep: readonly string[]): Promise<Collected>;
}

/**
 * The IPFS backend: an embedded node speaking libp2p (TCP, Noise, Yamux) and Bitswap 1.2 —
 * the block exchange Kubo and Helia speak — over a local block directory. Blocks that are not
 * local are requested from connected peers, verified against their CID, then kept, so content
 * moves between machines by CID and every node that has fetched a block serves it on.
 *
 * Chosen over the Kubo RPC API because it needs no separate daemon (Kubo cannot be installed
 * on our machines) and over a full Helia node because Helia's default stack pulls in WebRTC
 * and WebSockets transports with native modules and dials public bootstrap nodes; this node
 * dials only the peers it is given. It has no DHT: a block is found if a connected peer has
 * it, which is how a requester and its job's providers share content (workers connect to the
 * requester's node, or to a shared node that pins everything).
 *
 * `has()` answers for the local directory only: asking the network would mean fetching.
 */
export async function openIpfsContentStore(
  options: IpfsContentStoreOptions,
): Promise<IpfsContentStore> {
  const log = (options.log ?? silentLogger).child("content.ipfs");
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 30_000;
  const disk = new FsBlockstore(options.dir);
  await disk.open();
  const local = dedupingPuts(disk);
  const libp2p = await createLibp2p({
    addresses: { listen: options.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
  // Bitswap serves peers from this view of the directory, which re-hashes each block before
  // sending it: a node never passes on a block that was corrupted on its disk.
  const verifiedLocal = new VerifiedBlocks(local);
  async function* servedBlock(cid: CID, o?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await verifiedLocal.getBlock(cid, o);
    } catch (error) {
      if (isConunError(error, "content-mismatch")) {
        log.warn("not serving a block that fails verification", { cid: cid.toString() });
      }
      throw notServed(cid, error);
    }
    yield bytes;
  }
  const served = {
    has: (cid: CID, o?: { signal?: AbortSignal }) => local.has(cid, o),
    get: servedBlock,
    put: (cid: CID, bytes: Uint8Array, o?: { signal?: AbortSignal }) => local.put(cid, bytes, o),
  };
  const bitswap = createBitswap({
    libp2p,
    blockstore: served as unknown as Blockstore,
    routing: noRouting,
    logger: defaultLogger(),
    getHasher: async () => sha256,
  });
  await bitswap.start();
  const connect = async (address: string, connectOptions: { timeoutMs?: number } = {}) => {
    await libp2p.dial(multiaddr(address), {
      signal: AbortSignal.timeout(connectOptions.timeoutMs ?? 10_000),
    });
    log.info("connected", { peer: address });
  };
  for (const peer of options.peers ?? []) {
    // A peer that is down now may come up later; reads report what they could not find.
    await connect(peer).catch((error: unknown) =>
      log.warn("cannot connect to peer", { peer, error }),
    );
  }
  const networked = {
    has: (cid: CID, o?: { signal?: AbortSignal }) => local.has(cid, o),
    put: async (cid: CID, bytes: Uint8Array, o?: { signal?: AbortSignal }) => {
      await local.put(cid, bytes, o);
      await bitswap.notify(cid).catch(() => {});
      return cid;
    },
    get: async function* (cid: CID, o?: { signal?: AbortSignal }) {
      yield await blocks.get(cid.toString(), o?.signal);
    },
  };
  // One load per block, however many reads want it, until the block is on disk. Without it a
  // read asking for a block that another read has just received but not yet written sends a
  // second want that never completes: Bitswap reuses the want-list entry it has just marked
  // as received, and the peer ignores a repeated want for a block it sent in the last 5 s.
  const blocks = new SharedLoads((key, abandon) => loadBlock(CID.parse(key), abandon));
  const wantSlots = new Slots(MAX_WANTS_IN_FLIGHT);
  async function loadBlock(cid: CID, abandon: AbortSignal): Promise<Uint8Array> {
    if (await local.has(cid)) return readBlock(local, cid, { signal: abandon });
    // Waiting for a slot is not counted in the fetch timeout: that bounds the peers' answer.
    await wantSlots.acquire(abandon);
    let bytes: Uint8Array;
    try {
      bytes = await bitswap.want(cid, {
        signal: AbortSignal.any([abandon, AbortSignal.timeout(fetchTimeoutMs)]),
      });
    } catch (error) {
      if (abandon.aborted) throw abandon.reason;
      throw new ContentError(
        "content-not-found",
        `block ${cid} was not found on any of ${libp2p.getConnections().length} connected peers within ${fetchTimeoutMs} ms`,
        { cause: error, details: { cid: cid.toString() } },
      );
    } finally {
      wantSlots.release();
    }
    // Verified before it is kept, so the local directory only ever holds good blocks.
    if (!createHash("sha256").update(bytes).digest().equals(cid.multihash.digest)) {
      throw new ContentError("content-mismatch", `a peer sent bytes that do not hash to ${cid}`);
    }
    await local.put(cid, bytes);
    return bytes;
  }
  const store = new UnixfsContentStore(networked, async () => {
    await bitswap.stop();
    await libp2p.stop();
    await disk.close();
  });
  return Object.assign(store, {
    multiaddrs: () => multiaddrsOf(libp2p),
    connect,
    collect: (roots: readonly string[], keep: readonly string[]) =>
      collectBlocks(disk, roots, keep),
  }) as IpfsContentStore;
}

/**
 * Wants this node keeps outstanding at once; further reads wait for a slot. A peer keeps a
 * bounded want list per peer (1024 entries in Helia and Kubo) and silently drops what is
 * over, and Bitswap never repeats a want it has sent, so an unbounded burst (200 streams
 * reading 8 blocks ahead each) loses wants. A peer also reads every block of a batch of wants
 * before it sends any, and abandons a reply it cannot send within 10 s: 64 blocks of 256 KiB
 * is 16 MiB per batch.
 */
const MAX_WANTS_IN_FLIGHT = 64;

/**
 * What the block source Bitswap serves from throws for a block it will not serve (absent,
 * failing verification, or a CID this store does not handle). Bitswap's ledger takes an error
 * named `NotFoundError` (interface-store's convention) as "I don't have it" and goes on with
 * the other blocks of the batch, answering this one later if it arrives; any other error
 * abandons the whole reply and leaves every block of it unanswered for good. A signal between
 * libraries, not one of CONUN's errors (sdk/errors.ts): nobody outside Bitswap sees it.
 */
function notServed(cid: CID, cause: unknown): Error {
  return Object.assign(new Error(`block ${cid} is not served by this node`, { cause }), {
    name: "NotFoundError",
  });
}

function multiaddrsOf(libp2p: Libp2p): string[] {
  return libp2p.getMultiaddrs().map((address) => address.toString());
}

type Routing = Parameters<typeof createBitswap>[0]["routing"];

/** No content routing: wants go to connected peers only (see openIpfsContentStore). */
const noRouting: Routing = {
  name: "none",
  provide: async () => {},
  cancelReprovide: async () => {},
  findProviders: async function* () {},
  put: async () => {},
  get: async () => {
    throw new Error("no routing configured");
  },
  findPeer: async () => {
    throw new Error("no routing configured");
  },
  getClosestPeers: async function* () {},
} as unknown as Routing;
