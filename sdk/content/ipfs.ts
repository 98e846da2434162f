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
import type { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { type Logger, silentLogger } from "../logger.ts";
import { ContentError } from "./errors.ts";
import { dedupingPuts } from "./local.ts";
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
  const served = {
    has: (cid: CID, o?: { signal?: AbortSignal }) => local.has(cid, o),
    get: (cid: CID, o?: { signal?: AbortSignal }) => verifiedLocal.get(cid, o),
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
    get: (cid: CID, o?: { signal?: AbortSignal }) => getBlock(cid, o?.signal),
  };
  async function* getBlock(cid: CID, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    if (await local.has(cid)) {
      yield* local.get(cid, { signal });
      return;
    }
    const timeout = AbortSignal.timeout(fetchTimeoutMs);
    let bytes: Uint8Array;
    try {
      bytes = await bitswap.want(cid, {
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new ContentError(
        "content-not-found",
        `block ${cid} was not found on any of ${libp2p.getConnections().length} connected peers within ${fetchTimeoutMs} ms`,
        { cause: error, details: { cid: cid.toString() } },
      );
    }
    // Verified before it is kept, so the local directory only ever holds good blocks.
    if (!createHash("sha256").update(bytes).digest().equals(cid.multihash.digest)) {
      throw new ContentError("content-mismatch", `a peer sent bytes that do not hash to ${cid}`);
    }
    await local.put(cid, bytes);
    yield bytes;
  }
  const store = new UnixfsContentStore(networked, async () => {
    await bitswap.stop();
    await libp2p.stop();
    await disk.close();
  });
  return Object.assign(store, {
    multiaddrs: () => multiaddrsOf(libp2p),
    connect,
  }) as IpfsContentStore;
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
