import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import * as dagPb from "@ipld/dag-pb";
import { FsBlockstore } from "blockstore-fs";
import { expect } from "chai";
import { UnixFS } from "ipfs-unixfs";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { identity } from "multiformats/hashes/identity";
import { sha256 } from "multiformats/hashes/sha2";
import {
  type ContentStore,
  cidOf,
  cidOfDirectory,
  cidOfFile,
  openContentStore,
} from "../../sdk/content/index.ts";
import { UnixfsContentStore } from "../../sdk/content/unixfs-store.ts";
import { type ErrorCode, isConunError } from "../../sdk/errors.ts";
import { blockFileOf, blockFiles, pseudoRandom } from "./content-support.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function expectContentError(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(isConunError(error, code), `expected ${code}, got ${String(error)}`).to.equal(true);
    return error as Error;
  }
  expect.fail(`expected a ContentError with code ${code}, but the call succeeded`);
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

describe("content store", () => {
  let work: string;
  let store: ContentStore;
  let storeDir: string;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "conun-content-"));
    storeDir = join(work, "store");
    store = await openContentStore({ kind: "local", dir: storeDir });
  });

  afterEach(async () => {
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  describe("cidOf", () => {
    it("gives the empty file the raw CID that ipfs add --cid-version 1 gives it", async () => {
      expect(await cidOf(new Uint8Array(0))).to.equal(
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
      );
    });

    it("matches Kubo's published CID for the file 'hello\\n'", async () => {
      // From Kubo's gateway test fixtures (ipfs 0.18.1, `echo hello | ipfs add --cid-version 1`).
      expect(await cidOf(text("hello\n"))).to.equal(
        "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am",
      );
    });

    it("builds a multi-chunk file as a balanced dag-pb node over 256 KiB raw leaves", async () => {
      // Built here by hand from the UnixFS spec, independently of the importer.
      const bytes = pseudoRandom(262_144 * 2 + 1000, 7);
      const chunks = [
        bytes.subarray(0, 262_144),
        bytes.subarray(262_144, 524_288),
        bytes.subarray(524_288),
      ];
      const leaves = await Promise.all(
        chunks.map(async (chunk) => CID.createV1(raw.code, await sha256.digest(chunk))),
      );
      const unixfs = new UnixFS({ type: "file", blockSizes: chunks.map((c) => BigInt(c.length)) });
      const node = dagPb.prepare({
        Data: unixfs.marshal(),
        Links: leaves.map((cid, i) => ({ Hash: cid, Name: "", Tsize: chunks[i]?.length })),
      });
      const root = CID.createV1(dagPb.code, await sha256.digest(dagPb.encode(node)));
      expect(await cidOf(bytes)).to.equal(root.toString());
      expect(root.toString()).to.match(/^bafybei/);
    });
    it("grows the DAG a level after 174 leaves, as Kubo's balanced layout does", async () => {
      // 174 full zero chunks and one 1-byte chunk: a root over two interior nodes, the first
      // with 174 links (the maximum), the second with 1. Built by hand from the UnixFS spec.
      const chunk = 262_144;
      const zeroLeaf = CID.createV1(raw.code, await sha256.digest(new Uint8Array(chunk)));
      const tailLeaf = CID.createV1(raw.code, await sha256.digest(new Uint8Array(1)));
      const fileNode = async (links: { cid: CID; size: number; tsize: number }[]) => {
        const data = new UnixFS({ type: "file", blockSizes: links.map((l) => BigInt(l.size)) });
        const block = dagPb.encode(
          dagPb.prepare({
            Data: data.marshal(),
            Links: links.map((l) => ({ Hash: l.cid, Name: "", Tsize: l.tsize })),
          }),
        );
        const cid = CID.createV1(dagPb.code, await sha256.digest(block));
        const size = links.reduce((sum, l) => sum + l.size, 0);
        const tsize = block.length + links.reduce((sum, l) => sum + l.tsize, 0);
        return { cid, size, tsize };
      };
      const full = await fileNode(
        Array.from({ length: 174 }, () => ({ cid: zeroLeaf, size: chunk, tsize: chunk })),
      );
      const tail = await fileNode([{ cid: tailLeaf, size: 1, tsize: 1 }]);
      const root = await fileNode([full, tail]);
      expect(await cidOf(new Uint8Array(174 * chunk + 1))).to.equal(root.cid.toString());
    });
  });

  describe("cidOfDirectory", () => {
    it("gives the empty directory the CID ipfs gives it", async () => {
      const dir = join(work, "empty");
      await mkdir(dir);
      expect(await cidOfDirectory(dir)).to.equal(
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
      );
    });

    it("matches Kubo's published CID for its testdirlisting fixture", async () => {
      const dir = join(work, "testdirlisting");
      await mkdir(join(dir, "ipfs", "ipns"), { recursive: true });
      await mkdir(join(dir, "api"));
      await writeFile(join(dir, "hello"), "hello\n");
      await writeFile(join(dir, "ipfs", "ipns", "bar"), "text-file-content\n");
      await writeFile(join(dir, "api", "file.txt"), "I am a txt file\n");
      await writeFile(join(dir, "ipfs", "file.txt"), "I am a txt file\n");
      // `ipfs add -Qr --cid-version 1 testdirlisting`, Kubo's t0114 gateway fixture.
      expect(await cidOfDirectory(dir)).to.equal(
        "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe",
      );
    });

    it("matches Kubo's published CID for a tree with UTF-8 names (link order is bytewise)", async () => {
      const dir = join(work, "rootDir");
      await mkdir(join(dir, "ą", "ę"), { recursive: true });
      for (const sub of ["api", "ipfs", "ipns"]) {
        await mkdir(join(dir, sub));
        await writeFile(join(dir, sub, "file.txt"), `I am a txt file in confusing /${sub} dir\n`);
      }
      await writeFile(join(dir, "ą", "ę", "file-źł.txt"), "I am a txt file on path with utf8\n");
      // Kubo's t0122 gateway-tar fixture.
      expect(await cidOfDirectory(dir)).to.equal(
        "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i",
      );
    });
  });

  describe("ContentStore#addBytes and #getBytes", () => {
    it("stores bytes under the CID cidOf computes and returns the same bytes", async () => {
      const bytes = pseudoRandom(700_000, 3);
      const cid = await store.addBytes(bytes);
      expect(cid).to.equal(await cidOf(bytes));
      const back = await store.getBytes(cid);
      expect(back).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(back).equals(Buffer.from(bytes))).to.equal(true);
      // 3 leaves + 1 root, stored as files in the store's directory.
      expect(await blockFiles(storeDir)).to.have.length(4);
      expect(await store.has(cid)).to.equal(true);
    });

    it("stores a file of repeated chunks once per distinct block, quickly", async () => {
      const started = performance.now();
      const cid = await store.addBytes(new Uint8Array(8 * 262_144));
      // One zero leaf shared by all 8 links, plus the root.
      expect(await blockFiles(storeDir)).to.have.length(2);
      expect(performance.now() - started).to.be.below(2000);
      expect(await store.getBytes(cid)).to.deep.equal(new Uint8Array(8 * 262_144));
    });

    it("stores the empty file and reads it back as zero bytes", async () => {
      const cid = await store.addBytes(new Uint8Array(0));
      expect(cid).to.equal("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
      expect(await store.getBytes(cid)).to.have.length(0);
    });

    it("refuses to buffer content beyond maxBytes", async () => {
      const cid = await store.addBytes(pseudoRandom(300_000, 1));
      const error = await expectContentError(
        store.getBytes(cid, { maxBytes: 299_999 }),
        "content-too-large",
      );
      expect(error.message).to.contain("300000 bytes");
      expect(await store.getBytes(cid, { maxBytes: 300_000 })).to.have.length(300_000);
    });

    it("rejects a directory CID where a file is wanted", async () => {
      const dir = join(work, "d");
      await mkdir(dir);
      await writeFile(join(dir, "a"), "a");
      const cid = await store.addDirectory(dir);
      await expectContentError(store.getBytes(cid), "content-unsupported");
    });

    it("reports content it does not hold as content-not-found", async () => {
      const cid = await cidOf(text("never stored"));
      expect(await store.has(cid)).to.equal(false);
      await expectContentError(store.getBytes(cid), "content-not-found");
    });

    const hello = CID.parse("bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am");
    for (const [label, bad] of [
      ["garbage", "hello"],
      ["an empty string", ""],
      ["a CIDv0", "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"],
      ["a CIDv1 in base58 rather than base32", hello.toString(base58btc)],
      ["a CIDv1 in upper-case base32", hello.toString().toUpperCase()],
      [
        "a sha2-512 CID",
        "bafkrgqhhyivzstcz3hhswshfjgy6ertgmnqeleynhwt4dlfsthi4hn7zgh4uvlsb5xncykzapi3ocd4lzogukir6ksdy6wzrnz6ohnv4aglcs",
      ],
      [
        "an identity CID (inline, unverifiable bytes)",
        CID.createV1(raw.code, identity.digest(text("x"))).toString(),
      ],
      ["a dag-cbor CID", CID.createV1(0x71, hello.multihash).toString()],
    ] as const) {
      it(`rejects ${label} as invalid-cid`, async () => {
        await expectContentError(store.getBytes(bad), "invalid-cid");
      });
    }
  });

  describe("ContentStore reads verify every block", () => {
    it("refuses a file whose only block was corrupted on disk", async () => {
      const cid = await store.addBytes(text("the right bytes"));
      const [file] = await blockFiles(storeDir);
      await writeFile(file as string, "the wrong bytes");
      const error = await expectContentError(store.getBytes(cid), "content-mismatch");
      expect(error.message).to.contain(cid);
    });

    it("refuses a large file when one interior leaf was flipped, in every read path", async () => {
      const bytes = pseudoRandom(262_144 * 3, 11);
      const cid = await store.addBytes(bytes);
      const leaf = CID.createV1(raw.code, await sha256.digest(bytes.subarray(262_144, 524_288)));
      const file = await blockFileOf(storeDir, leaf.toString());
      const stored = await readFile(file);
      stored[1000] = (stored[1000] as number) ^ 1;
      await writeFile(file, stored);

      await expectContentError(store.getBytes(cid), "content-mismatch");
      await expectContentError(drain(store.stream(cid)), "content-mismatch");
      const destination = join(work, "out.bin");
      await expectContentError(store.exportTo(cid, destination), "content-mismatch");
      // Nothing half-written is left where the caller expects verified content.
      expect(await readdir(work)).to.deep.equal(["store"]);
    });

    it("reports a deleted leaf as missing content", async () => {
      const bytes = pseudoRandom(262_144 * 2, 5);
      const cid = await store.addBytes(bytes);
      const leaf = CID.createV1(raw.code, await sha256.digest(bytes.subarray(0, 262_144)));
      await unlink(await blockFileOf(storeDir, leaf.toString()));
      expect(await store.has(cid)).to.equal(false);
      await expectContentError(store.getBytes(cid), "content-not-found");
    });
  });

  describe("ContentStore#addDirectory and #exportTo", () => {
    it("round-trips a tree with hidden files and empty directories, at the CID cidOfDirectory gives", async () => {
      const dir = join(work, "inputs");
      await mkdir(join(dir, "sub", "deeper"), { recursive: true });
      await mkdir(join(dir, "empty"));
      await writeFile(join(dir, ".hidden"), "dot file");
      await writeFile(join(dir, "sub", "a.txt"), "A");
      await writeFile(join(dir, "sub", "deeper", "big.bin"), pseudoRandom(600_000, 9));
      const cid = await store.addDirectory(dir);
      expect(cid).to.equal(await cidOfDirectory(dir));

      const out = join(work, "export", "inputs");
      const result = await store.exportTo(cid, out);
      expect(result).to.deep.equal({ kind: "directory", bytes: 8 + 1 + 600_000 });
      expect(await readFile(join(out, ".hidden"), "utf8")).to.equal("dot file");
      expect(await readFile(join(out, "sub", "a.txt"), "utf8")).to.equal("A");
      expect((await readFile(join(out, "sub", "deeper", "big.bin"))).length).to.equal(600_000);
      expect(await readdir(join(out, "empty"))).to.deep.equal([]);
      expect(await cidOfDirectory(out)).to.equal(cid);
    });

    it("shards a very large directory (HAMT) and exports it back entry for entry", async function () {
      this.timeout(30_000);
      // Long names push the directory's links past the 256 KiB sharding threshold.
      const dir = join(work, "wide");
      await mkdir(dir);
      const names = Array.from(
        { length: 1200 },
        (_, i) => `${String(i).padStart(4, "0")}-${"n".repeat(220)}`,
      );
      for (const name of names) await writeFile(join(dir, name), name.slice(0, 4));
      const cid = await store.addDirectory(dir);
      const blocks = new FsBlockstore(storeDir);
      const parts: Uint8Array[] = [];
      for await (const part of blocks.get(CID.parse(cid))) parts.push(part);
      const rootBlock = Buffer.concat(parts);
      const root = UnixFS.unmarshal(dagPb.decode(rootBlock).Data as Uint8Array);
      expect(root.type).to.equal("hamt-sharded-directory");

      const out = join(work, "wide-out");
      expect(await store.exportTo(cid, out)).to.deep.equal({ kind: "directory", bytes: 1200 * 4 });
      expect((await readdir(out)).sort()).to.deep.equal([...names].sort());
      expect(await readFile(join(out, names[1111] as string), "utf8")).to.equal("1111");
      expect(await store.has(cid)).to.equal(true);
    });

    it("exports a file CID as a file", async () => {
      const cid = await store.addBytes(text("one file"));
      const out = join(work, "one.txt");
      expect(await store.exportTo(cid, out)).to.deep.equal({ kind: "file", bytes: 8 });
      expect(await readFile(out, "utf8")).to.equal("one file");
    });

    it("refuses to export over an existing destination", async () => {
      const cid = await store.addBytes(text("x"));
      const out = join(work, "exists");
      await writeFile(out, "keep me");
      await expectContentError(store.exportTo(cid, out), "content-destination-exists");
      expect(await readFile(out, "utf8")).to.equal("keep me");
    });

    it("refuses to store a tree containing a symlink", async () => {
      const dir = join(work, "links");
      await mkdir(dir);
      await writeFile(join(dir, "real"), "r");
      await symlink("/etc/passwd", join(dir, "escape"));
      const error = await expectContentError(store.addDirectory(dir), "content-unsupported");
      expect(error.message).to.contain("symlink");
    });

    it("refuses a crafted directory whose entry name climbs out of the destination", async () => {
      // A hostile DAG, hashed correctly, written straight into the store's blockstore.
      const blocks = new FsBlockstore(storeDir);
      await blocks.open();
      const payload = text("owned");
      const leaf = CID.createV1(raw.code, await sha256.digest(payload));
      await blocks.put(leaf, payload);
      const node = dagPb.encode(
        dagPb.prepare({
          Data: new UnixFS({ type: "directory" }).marshal(),
          Links: [{ Hash: leaf, Name: "../escaped", Tsize: payload.length }],
        }),
      );
      const root = CID.createV1(dagPb.code, await sha256.digest(node));
      await blocks.put(root, node);

      const out = join(work, "victim", "dir");
      await expectContentError(store.exportTo(root.toString(), out), "content-unsupported");
      expect(await readdir(work)).to.not.include("escaped");
      expect(await readdir(join(work, "victim"))).to.deep.equal([]);
    });
  });

  describe("ContentStore streaming of large files", function () {
    this.timeout(60_000);

    // How much memory this takes is a benchmark's figure (npm run bench:content), not a test's:
    // rss moves with the collector and the machine. That the reader stays a few blocks ahead
    // of its consumer is pinned exactly by the back-pressure test below.
    it("adds, streams to a slow consumer and exports a 64 MiB file byte for byte", async () => {
      const size = 64 * 1024 * 1024;
      const path = join(work, "big.bin");
      const source = createWriteStream(path);
      const expectedHash = createHash("sha256");
      const block = pseudoRandom(1024 * 1024, 42);
      for (let i = 0; i < size / block.length; i++) {
        block[0] = i; // every MiB differs, so no two leaves dedupe
        expectedHash.update(block);
        if (!source.write(Buffer.from(block))) {
          await new Promise<void>((resolve) => source.once("drain", () => resolve()));
        }
      }
      source.end();
      await finished(source);
      const digest = expectedHash.digest("hex");

      const cid = await store.addFile(path);
      expect(cid).to.equal(await cidOfFile(path));

      const streamed = createHash("sha256");
      let streamedBytes = 0;
      for await (const chunk of store.stream(cid)) {
        streamed.update(chunk);
        streamedBytes += chunk.length;
        // A slow consumer: the reader must wait rather than buffer ahead without bound.
        if (streamedBytes % (8 * 1024 * 1024) === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(streamedBytes).to.equal(size);
      expect(streamed.digest("hex")).to.equal(digest);

      const out = join(work, "big-out.bin");
      expect(await store.exportTo(cid, out)).to.deep.equal({ kind: "file", bytes: size });
      expect(
        createHash("sha256")
          .update(await readFile(out))
          .digest("hex"),
      ).to.equal(digest);
    });
  });

  describe("ContentStore#stream back-pressure", () => {
    it("reads only a few blocks ahead of a consumer that has paused", async () => {
      const blocks = new FsBlockstore(join(work, "counted"));
      await blocks.open();
      let served = 0;
      const counting = {
        put: blocks.put.bind(blocks),
        has: blocks.has.bind(blocks),
        get: (cid: CID, options?: { signal?: AbortSignal }) => {
          served++;
          return blocks.get(cid, options);
        },
      };
      const counted = new UnixfsContentStore(counting, async () => {});
      const cid = await counted.addBytes(pseudoRandom(64 * 262_144, 21));
      const iterator = counted.stream(cid)[Symbol.asyncIterator]();
      expect((await iterator.next()).value).to.have.length(262_144);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The root, the leaf handed out, and at most 8 leaves of read-ahead — not 64.
      expect(served).to.be.within(2, 1 + 1 + 8);
      await iterator.return?.(undefined);
    });
  });

  describe("ContentStore (shared directory)", () => {
    it("lets a second store opened on the same directory read what the first wrote", async () => {
      const cid = await store.addBytes(text("shared"));
      const other = await openContentStore({ kind: "local", dir: storeDir });
      try {
        expect(new TextDecoder().decode(await other.getBytes(cid))).to.equal("shared");
      } finally {
        await other.close();
      }
    });

    it("stops a stream when its signal is aborted", async () => {
      const cid = await store.addBytes(pseudoRandom(262_144 * 4, 2));
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      let thrown: unknown;
      try {
        await drain(store.stream(cid, { signal: controller.signal }));
      } catch (error) {
        thrown = error;
      }
      expect(String(thrown)).to.contain("stop");
    });
  });
});
