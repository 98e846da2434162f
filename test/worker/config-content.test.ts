// Choosing the content store: the worker's `contentStore` setting (file, CONUN_WORKER_CONTENT_*
// variables, --content-* flags) and the requester's CONUN_CONTENT_* settings, both of which can
// select the IPFS backend; then one real exchange over loopback between a worker's store opened
// from its configuration and a requester's store opened by connectRequester.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { deployProtocol } from "../../devnet/protocol.ts";
import { connectRequester, resolveStoreOptions } from "../../requester/context.ts";
import type { IpfsContentStore } from "../../sdk/content/index.ts";
import type { ConunError } from "../../sdk/errors.ts";
import { createLogger } from "../../sdk/logger.ts";
import { findGroupBundle, verifyBundle, writeBundle } from "../../sdk/results/index.ts";
import { ConfigError, loadConfig } from "../../worker/src/config/index.ts";
import { openWorkerStore } from "../../worker/src/context.ts";
import { deploymentOf } from "../requester/fixtures.ts";

const DEV_KEY = `0x${"ab".repeat(32)}`;
const PEER_ID = "12D3KooWSHgq9nQPrhiFSuaEUX83hWHVgH5pGJq92HbzRbmZLdUz";

function base(contentStore: unknown) {
  return {
    rpcUrl: "http://127.0.0.1:8545",
    chainId: 31337,
    key: { devKey: DEV_KEY },
    contentStore,
    dataDir: "data",
  };
}

describe("loadConfig#contentStore", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-config-content-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(config: unknown): Promise<string> {
    const target = path.join(dir, `worker-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(target, JSON.stringify(config));
    return target;
  }

  async function problems(options: Parameters<typeof loadConfig>[0]): Promise<string[]> {
    const error = await loadConfig(options).catch((e: unknown) => e);
    expect(error, "loadConfig should have failed").to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }

  it("reads an IPFS store from the file, resolving its directory against the file's folder", async () => {
    const config = await loadConfig({
      file: await file(
        base({
          kind: "ipfs",
          dir: "ipfs-blocks",
          listen: ["/ip4/0.0.0.0/tcp/4010", "/ip6/::/tcp/4010"],
          peers: [`/ip4/203.0.113.7/tcp/4010/p2p/${PEER_ID}`, "/dns4/store.example/tcp/4001"],
          fetchTimeoutMs: 5000,
        }),
      ),
    });
    expect(config.contentStore).to.deep.equal({
      kind: "ipfs",
      dir: path.join(dir, "ipfs-blocks"),
      listen: ["/ip4/0.0.0.0/tcp/4010", "/ip6/::/tcp/4010"],
      peers: [`/ip4/203.0.113.7/tcp/4010/p2p/${PEER_ID}`, "/dns4/store.example/tcp/4001"],
      fetchTimeoutMs: 5000,
    });
  });

  it("selects the IPFS store from CONUN_WORKER_CONTENT_* variables, and flags override them", async () => {
    const config = await loadConfig({
      file: await file({ ...base(undefined), contentStore: undefined }),
      env: {
        CONUN_WORKER_CONTENT_KIND: "ipfs",
        CONUN_WORKER_CONTENT_DIR: "/srv/conun/ipfs",
        CONUN_WORKER_CONTENT_LISTEN: "/ip4/0.0.0.0/tcp/4010",
        CONUN_WORKER_CONTENT_PEERS: " /ip4/10.0.0.5/tcp/4010 , /ip4/10.0.0.6/tcp/4010 ,",
        CONUN_WORKER_CONTENT_FETCH_TIMEOUT_MS: "8000",
      },
      flags: { "content-peers": "/ip4/10.0.0.9/tcp/4010", "content-fetch-timeout-ms": "9000" },
    });
    expect(config.contentStore).to.deep.equal({
      kind: "ipfs",
      dir: "/srv/conun/ipfs",
      listen: ["/ip4/0.0.0.0/tcp/4010"],
      peers: ["/ip4/10.0.0.9/tcp/4010"],
      fetchTimeoutMs: 9000,
    });
  });

  it("keeps a directory alone a local store, as before", async () => {
    const config = await loadConfig({
      file: await file({ ...base(undefined), contentStore: undefined }),
      env: { CONUN_WORKER_CONTENT_DIR: "/srv/conun/content" },
    });
    expect(config.contentStore).to.deep.equal({ kind: "local", dir: "/srv/conun/content" });
  });

  it("names the setting and its source for addresses that are not TCP multiaddrs", async () => {
    const [listen, peer, ...rest] = await problems({
      file: await file(base({ kind: "ipfs", dir: "d" })),
      env: { CONUN_WORKER_CONTENT_PEERS: "/ip4/10.0.0.5/tcp/4010,10.0.0.6:4010" },
      flags: { "content-listen": "/ip4/0.0.0.0/udp/4010/quic-v1" },
    });
    expect(listen).to.equal(
      'contentStore.listen.0: "/ip4/0.0.0.0/udp/4010/quic-v1" must be a TCP address, e.g. /ip4/203.0.113.7/tcp/4010 (from --content-listen)',
    );
    // The parser's own reason sits in the parentheses; the setting and source are ours.
    expect(peer).to.match(
      /^contentStore\.peers\.1: "10\.0\.0\.6:4010" is not a multiaddr \(.+\) \(from CONUN_WORKER_CONTENT_PEERS\)$/,
    );
    expect(rest).to.deep.equal([]);
    expect(
      await problems({
        file: await file(
          base({
            kind: "ipfs",
            dir: "d",
            listen: [`/ip4/0.0.0.0/tcp/4010/p2p/${PEER_ID}`],
            peers: ["/ip4/10.0.0.5/tcp/4010/ws"],
          }),
        ),
      }),
    ).to.deep.equal([
      `contentStore.listen.0: "/ip4/0.0.0.0/tcp/4010/p2p/${PEER_ID}": nothing may follow the TCP port`,
      'contentStore.peers.0: "/ip4/10.0.0.5/tcp/4010/ws": nothing may follow the TCP port but /p2p/<peer id>',
    ]);
  });

  it("refuses IPFS-only settings on a local store, an unknown kind, and unknown keys", async () => {
    expect(
      await problems({
        file: await file(base({ kind: "local", dir: "d", fetchTimeoutMs: 1000 })),
        env: { CONUN_WORKER_CONTENT_PEERS: "/ip4/10.0.0.5/tcp/4010" },
      }),
    ).to.deep.equal([
      'contentStore.peers: is only used with contentStore.kind "ipfs" (from CONUN_WORKER_CONTENT_PEERS)',
      'contentStore.fetchTimeoutMs: is only used with contentStore.kind "ipfs"',
    ]);
    expect(
      await problems({
        file: await file(base({ dir: "d", gateway: "http://x" })),
        flags: { "content-kind": "kubo", "content-fetch-timeout-ms": "5" },
      }),
    ).to.deep.equal([
      'contentStore.kind: must be one of "local", "ipfs" (from --content-kind)',
      "contentStore.fetchTimeoutMs: must be ≥ 100 (from --content-fetch-timeout-ms)",
      "contentStore.gateway: unknown setting",
    ]);
  });
});

describe("resolveStoreOptions", () => {
  it("opens the local directory unless peers or listen addresses are given", () => {
    expect(resolveStoreOptions({ storeDir: "/tmp/s" }, {})).to.deep.equal({
      kind: "local",
      dir: "/tmp/s",
    });
    expect(resolveStoreOptions({}, { CONUN_CONTENT_DIR: "/tmp/env" })).to.deep.equal({
      kind: "local",
      dir: "/tmp/env",
    });
  });

  it("selects IPFS from CONUN_CONTENT_PEERS / _LISTEN / _FETCH_TIMEOUT_MS, options first", () => {
    const env = {
      CONUN_CONTENT_DIR: "/tmp/env",
      CONUN_CONTENT_PEERS: `/ip4/10.0.0.5/tcp/4010, /ip4/10.0.0.6/tcp/4010/p2p/${PEER_ID}`,
      CONUN_CONTENT_LISTEN: "/ip4/0.0.0.0/tcp/4020",
      CONUN_CONTENT_FETCH_TIMEOUT_MS: "7000",
    };
    expect(resolveStoreOptions({}, env)).to.deep.equal({
      kind: "ipfs",
      dir: "/tmp/env",
      peers: ["/ip4/10.0.0.5/tcp/4010", `/ip4/10.0.0.6/tcp/4010/p2p/${PEER_ID}`],
      listen: ["/ip4/0.0.0.0/tcp/4020"],
      fetchTimeoutMs: 7000,
    });
    expect(
      resolveStoreOptions({ storeDir: "/tmp/o", storePeers: ["/dns4/node.example/tcp/4001"] }, env),
    ).to.deep.equal({
      kind: "ipfs",
      dir: "/tmp/o",
      peers: ["/dns4/node.example/tcp/4001"],
      listen: ["/ip4/0.0.0.0/tcp/4020"],
      fetchTimeoutMs: 7000,
    });
  });

  it("names the setting of a bad address or timeout", () => {
    const message = (env: Record<string, string>) => {
      try {
        resolveStoreOptions({}, env);
      } catch (error) {
        expect((error as ConunError).code).to.equal("invalid-argument");
        return (error as Error).message;
      }
      return expect.fail("expected an error");
    };
    expect(message({ CONUN_CONTENT_PEERS: "10.0.0.5:4010" })).to.match(
      /^CONUN_CONTENT_PEERS: "10.0.0.5:4010" is not a multiaddr/,
    );
    expect(message({ CONUN_CONTENT_LISTEN: "/ip4/0.0.0.0/udp/1" })).to.equal(
      'CONUN_CONTENT_LISTEN: "/ip4/0.0.0.0/udp/1" must be a TCP address, e.g. /ip4/203.0.113.7/tcp/4010',
    );
    expect(
      message({
        CONUN_CONTENT_PEERS: "/ip4/10.0.0.5/tcp/1",
        CONUN_CONTENT_FETCH_TIMEOUT_MS: "soon",
      }),
    ).to.contain("CONUN_CONTENT_FETCH_TIMEOUT_MS: must be a whole number");
    expect(message({ CONUN_CONTENT_FETCH_TIMEOUT_MS: "5000" })).to.contain(
      "only used with the IPFS store",
    );
  });
});

describe("content over IPFS between a worker and a requester", function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-content-exchange-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("moves a results bundle to the requester and a manifest to the worker over loopback", async () => {
    // The worker's store, opened from its configuration by openWorkerStore.
    const configFile = path.join(dir, "worker.json");
    await writeFile(
      configFile,
      JSON.stringify(
        base({ kind: "ipfs", dir: "worker-blocks", listen: ["/ip4/127.0.0.1/tcp/0"] }),
      ),
    );
    const config = await loadConfig({ file: configFile });
    const lines: string[] = [];
    const workerStore = (await openWorkerStore(
      config,
      createLogger({ json: true, write: (line) => lines.push(line) }),
    )) as IpfsContentStore;
    const announced = lines
      .map((line) => JSON.parse(line) as { msg: string; component?: string; listening?: string[] })
      .find((entry) => entry.msg === "content store is an IPFS node");
    expect(announced?.component).to.equal("content");
    expect(announced?.listening).to.deep.equal(workerStore.multiaddrs());
    const connection = await network.create({ chainType: "l1" });
    const p = await deployProtocol(connection);
    try {
      const [address] = workerStore.multiaddrs();
      if (address === undefined) throw new Error("the worker's node listens nowhere");
      const output = path.join(dir, "output");
      await mkdir(output);
      await writeFile(path.join(output, "result.txt"), "computed far away\n");
      const bundle = path.join(dir, "bundle");
      const { root } = await writeBundle({
        bundleDir: bundle,
        jobId: 1,
        groupId: 0,
        provider: `0x${"22".repeat(20)}`,
        tasks: [{ index: 0, status: "succeeded", outputDir: output }],
      });
      const resultsCid = await workerStore.addDirectory(bundle);

      // The requester names the worker's node as a peer (its address without /p2p/, as a
      // restarted worker keeps its port but not its peer id) and shares no directory with it.
      const ctx = await connectRequester({
        signer: p.requester,
        deployment: await deploymentOf(p),
        storeDir: path.join(dir, "requester-blocks"),
        storePeers: [address.replace(/\/p2p\/[^/]+$/, "")],
        storeFetchTimeoutMs: 5000,
      });
      try {
        const exported = path.join(dir, "fetched");
        await ctx.store.exportTo(resultsCid, exported);
        const verification = await verifyBundle(await findGroupBundle(exported, 0), root);
        expect(verification.ok).to.equal(true);

        const manifest = new TextEncoder().encode('{"version":1,"name":"over-ipfs"}');
        const manifestCid = await ctx.store.addBytes(manifest);
        expect(await workerStore.has(manifestCid)).to.equal(false);
        expect(Buffer.from(await workerStore.getBytes(manifestCid)).toString()).to.equal(
          '{"version":1,"name":"over-ipfs"}',
        );
        expect(await workerStore.has(manifestCid)).to.equal(true);
      } finally {
        await ctx.store.close();
      }
    } finally {
      await workerStore.close();
    }
  });
});
