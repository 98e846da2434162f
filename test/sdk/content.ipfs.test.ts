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
