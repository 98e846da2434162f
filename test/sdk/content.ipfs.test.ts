import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CID } from "multiformats/cid";
import {
  cidOf,
  cidOfDirectory,
  type IpfsContentStore,
  openContentStore,
  openIpfsContentStore,
} from "../../sdk/content/index.ts";
import { isConunError } from "../../sdk/errors.ts";
import { pseudoRandom, rejection } from "./content-support.ts";

describe("IPFS content store (two embedded nodes on loopback)", function () {
  this.timeout(30_000);
  let work: string;
  const opened: IpfsContentStore[] = [];

  async function node(name: string, peers: string[] = [], fetchTimeoutMs = 5_000) {
    const store = await openIpfsContentStore({ dir: join(work, name), peers, fetchTimeoutMs });
    opened.push(store);
    return store;
  }

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "conun-ipfs-"));
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it("listens on loopback only and names itself by peer id", async () => {
    const a = await node("a");
    const addresses = a.multiaddrs();
    expect(addresses).to.have.length.greaterThan(0);
    for (const address of addresses)
      expect(address).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/);
  });

  it("moves a multi-block file from one node to another by CID, verified, and keeps it", async () => {
    const a = await node("a");
    const bytes = pseudoRandom(3 * 262_144 + 12_345, 17);
    const cid = await a.addBytes(bytes);
    expect(cid).to.equal(await cidOf(bytes));

    const b = await node("b", a.multiaddrs());
    expect(await b.has(cid)).to.equal(false);
    const fetched = await b.getBytes(cid);
    expect(Buffer.from(fetched).equals(Buffer.from(bytes))).to.equal(true);
    // Fetched blocks are kept: root + 4 leaves now on b's disk, and has() sees them.
    expect(await b.has(cid)).to.equal(true);
    let files = 0;
    for (const shard of await readdir(join(work, "b"))) {
      files += (await readdir(join(work, "b", shard))).length;
    }
    expect(files).to.equal(5);
  });

  it("exports a directory added on another node, identical to the original tree", async () => {
    const a = await node("a");
    const tree = join(work, "tree");
    await mkdir(join(tree, "sub"), { recursive: true });
    await writeFile(join(tree, "sub", "x.txt"), "x");
    await writeFile(join(tree, "big.bin"), pseudoRandom(600_000, 3));
    const cid = await a.addDirectory(tree);

    const b = await node("b", a.multiaddrs());
    const out = join(work, "out");
    expect(await b.exportTo(cid, out)).to.deep.equal({ kind: "directory", bytes: 600_001 });
    expect(await cidOfDirectory(out)).to.equal(cid);
    expect(await readFile(join(out, "sub", "x.txt"), "utf8")).to.equal("x");
  });

  it("lets content travel on: a third node gets it from the second after the first is gone", async () => {
    const a = await node("a");
    const cid = await a.addBytes(new TextEncoder().encode("passed along"));
    const b = await node("b", a.multiaddrs());
    await b.getBytes(cid);
    await a.close();
    opened.splice(opened.indexOf(a), 1);

    const c = await node("c", b.multiaddrs());
    expect(new TextDecoder().decode(await c.getBytes(cid))).to.equal("passed along");
  });

  it("serves 200 different files to parallel reads, each with its own bytes", async () => {
    const a = await node("a");
    // Single-block files (one raw block each) and two-block files (a dag-pb root and leaves),
    // so both the root wants and the leaf wants run many at a time.
    const contents = Array.from({ length: 200 }, (_, i) =>
      pseudoRandom(i % 2 === 0 ? 1_000 + i : 262_144 + 1_000 + i, 1_000 + i),
    );
    const cids = await Promise.all(contents.map((bytes) => a.addBytes(bytes)));
    expect(new Set(cids).size).to.equal(200);

    const b = await node("b", a.multiaddrs());
    const fetched = await Promise.all(cids.map((cid) => b.getBytes(cid)));
    fetched.forEach((bytes, i) => {
      expect(Buffer.from(bytes).equals(Buffer.from(contents[i] as Uint8Array)), `file ${i}`).to.be
        .true;
    });
  });

  it("streams 200 files in parallel between two nodes, each with its own bytes", async () => {
    const a = await node("a");
    const contents = Array.from({ length: 200 }, (_, i) => pseudoRandom(300_000 + i, 5_000 + i));
    const cids = await Promise.all(contents.map((bytes) => a.addBytes(bytes)));

    const b = await node("b", a.multiaddrs());
    const digests = await Promise.all(
      cids.map(async (cid) => {
        const hash = createHash("sha256");
        for await (const chunk of b.stream(cid)) hash.update(chunk);
        return hash.digest("hex");
      }),
    );
    digests.forEach((digest, i) => {
      const wanted = createHash("sha256")
        .update(contents[i] as Uint8Array)
        .digest("hex");
      expect(digest, `file ${i}`).to.equal(wanted);
    });
  });

  it("answers 200 parallel reads of the same CID, each with the whole file", async () => {
    const a = await node("a");
    const bytes = pseudoRandom(3 * 262_144 + 7, 99);
    const cid = await a.addBytes(bytes);

    const b = await node("b", a.multiaddrs());
    const fetched = await Promise.all(Array.from({ length: 200 }, () => b.getBytes(cid)));
    for (const copy of fetched) expect(Buffer.from(copy).equals(Buffer.from(bytes))).to.be.true;
    expect(await b.has(cid)).to.equal(true);
  });

  it("answers more parallel reads than a peer's want list holds (1,500 blocks; the list keeps 1,024)", async () => {
    const a = await node("a");
    const contents = Array.from({ length: 1_500 }, (_, i) =>
      pseudoRandom(100 + (i % 50), 20_000 + i),
    );
    const cids = await Promise.all(contents.map((bytes) => a.addBytes(bytes)));

    const b = await node("b", a.multiaddrs());
    const fetched = await Promise.all(cids.map((cid) => b.getBytes(cid)));
    fetched.forEach((bytes, i) => {
      expect(Buffer.from(bytes).equals(Buffer.from(contents[i] as Uint8Array)), `block ${i}`).to.be
        .true;
    });
  });

  it("answers each of 200 parallel reads when a peer lacks some of what is asked in the same breath", async () => {
    const a = await node("a");
    const contents = Array.from({ length: 200 }, (_, i) => pseudoRandom(2_000 + i, 7_000 + i));
    const cids = await Promise.all(contents.map((bytes) => a.addBytes(bytes)));
    const nobodyHas = await Promise.all(
      [1, 2, 3].map((i) => cidOf(new TextEncoder().encode(`nobody has ${i}`))),
    );

    const b = await node("b", a.multiaddrs(), 2_000);
    const [found, missing] = await Promise.all([
      Promise.all(cids.map((cid) => b.getBytes(cid))),
      Promise.all(nobodyHas.map((cid) => rejection(b.getBytes(cid)))),
    ]);
    found.forEach((bytes, i) => {
      expect(Buffer.from(bytes).equals(Buffer.from(contents[i] as Uint8Array)), `file ${i}`).to.be
        .true;
    });
    for (const error of missing)
      expect(isConunError(error, "content-not-found"), String(error)).to.equal(true);
  });

  it("fetches 200 files in parallel from two peers that each hold half of them", async () => {
    const a = await node("a");
    const c = await node("c");
    const contents = Array.from({ length: 200 }, (_, i) => pseudoRandom(300_000 + i, 9_000 + i));
    const cids = await Promise.all(
      contents.map((bytes, i) => (i % 2 === 0 ? a : c).addBytes(bytes)),
    );

    const b = await node("b", [...a.multiaddrs(), ...c.multiaddrs()]);
    const fetched = await Promise.all(cids.map((cid) => b.getBytes(cid)));
    fetched.forEach((bytes, i) => {
      expect(Buffer.from(bytes).equals(Buffer.from(contents[i] as Uint8Array)), `file ${i}`).to.be
        .true;
    });
  });

  it("answers reads of one CID that start one after another while its blocks are arriving", async () => {
    const a = await node("a");
    const bytes = pseudoRandom(8 * 262_144 + 5, 123);
    const cid = await a.addBytes(bytes);

    const b = await node("b", a.multiaddrs());
    // Each read starts on the next turn of the event loop, so later reads ask for blocks that
    // earlier ones are receiving or writing at that moment.
    const reads: Promise<Uint8Array>[] = [];
    for (let i = 0; i < 100; i++) {
      reads.push(b.getBytes(cid));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const copy of await Promise.all(reads))
      expect(Buffer.from(copy).equals(Buffer.from(bytes))).to.be.true;
  });

  it("lets one reader give up on a block while another keeps waiting and gets it when the peer adds it", async () => {
    const a = await node("a");
    const bytes = new TextEncoder().encode("added after it was asked for");
    const cid = await cidOf(bytes);
    const b = await node("b", a.multiaddrs());

    const giveUp = new AbortController();
    const impatient = rejection(b.getBytes(cid, { signal: giveUp.signal }));
    const patient = b.getBytes(cid);
    giveUp.abort(new Error("not needed any more"));
    expect(String(await impatient)).to.contain("not needed any more");

    await a.addBytes(bytes);
    expect(new TextDecoder().decode(await patient)).to.equal("added after it was asked for");
  });

  it("collects the blocks only a finished DAG holds, keeps the ones another shares, and fetches them again", async () => {
    const a = await node("a");
    const shared = pseudoRandom(2 * 262_144 + 11, 31);
    const dirs = ["gone", "kept"].map((name) => join(work, "src", name));
    for (const [i, dir] of dirs.entries()) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "shared.bin"), shared);
      await writeFile(join(dir, "own.bin"), pseudoRandom(262_144 + 7, 40 + i));
    }
    const b = await node("b", a.multiaddrs());
    const [gone, kept] = await Promise.all(dirs.map((dir) => a.addDirectory(dir)));
    if (gone === undefined || kept === undefined) throw new Error("unreachable");
    const sharedCid = await cidOf(shared);
    const blocksOnDisk = async () => {
      let files = 0;
      for (const shard of await readdir(join(work, "a"))) {
        files += (await readdir(join(work, "a", shard))).length;
      }
      return files;
    };
    await b.exportTo(gone, join(work, "copy"));
    const before = await blocksOnDisk();

    // gone's own blocks: its directory node, own.bin's root and its two leaves.
    const collected = await a.collect([gone], [kept]);
    expect(collected.blocks).to.equal(4);
    expect(collected.bytes).to.be.greaterThan(262_144);
    expect(await blocksOnDisk()).to.equal(before - 4);
    expect(await a.has(gone)).to.equal(false);
    expect(await a.has(kept)).to.equal(true);
    expect(await a.has(sharedCid)).to.equal(true);
    // Nothing left to collect: a second pass finds the root gone.
    expect(await a.collect([gone], [kept])).to.deep.equal({ blocks: 0, bytes: 0 });

    // Collected here is not lost: b fetched the directory first, and a gets it back from b.
    await a.exportTo(gone, join(work, "back"));
    expect(await readFile(join(work, "back", "own.bin"))).to.deep.equal(
      await readFile(join(dirs[0] as string, "own.bin")),
    );
  });

  it("reports content no connected peer has as content-not-found, within the fetch timeout", async () => {
    const a = await node("a");
    const b = await node("b", a.multiaddrs(), 500);
    const missing = await cidOf(new TextEncoder().encode("nobody has this"));
    const started = Date.now();
    const error = await rejection(b.getBytes(missing));
    expect(isConunError(error, "content-not-found"), String(error)).to.equal(true);
    expect(Date.now() - started).to.be.below(5_000);
  });

  it("never serves a block corrupted on its disk, so the fetching node gets nothing bad", async () => {
    const a = await node("a");
    const bytes = new TextEncoder().encode("pristine");
    const cid = await a.addBytes(bytes);
    // Overwrite a's only block file with other bytes.
    const [shard] = await readdir(join(work, "a"));
    const [file] = await readdir(join(work, "a", shard as string));
    await writeFile(join(work, "a", shard as string, file as string), "tampered");

    const b = await node("b", a.multiaddrs(), 1_000);
    const error = await rejection(b.getBytes(cid));
    expect(isConunError(error, "content-not-found"), String(error)).to.equal(true);
    expect(await b.has(cid)).to.equal(false);
  });

  it("is what openContentStore({ kind: 'ipfs' }) opens, and shares its directory layout with the local backend", async () => {
    const bytes = new TextEncoder().encode("same blocks");
    const local = await openContentStore({ kind: "local", dir: join(work, "shared") });
    const cid = await local.addBytes(bytes);
    await local.close();
    const ipfs = (await openContentStore({
      kind: "ipfs",
      dir: join(work, "shared"),
    })) as IpfsContentStore;
    opened.push(ipfs);
    expect(await ipfs.has(cid)).to.equal(true);
    expect(
      createHash("sha256")
        .update(await ipfs.getBytes(cid))
        .digest("hex"),
    ).to.equal(Buffer.from(CID.parse(cid).multihash.digest).toString("hex"));
  });
});
