import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import {
  type ContentGateway,
  type GatewayListing,
  startContentGateway,
} from "../../sdk/content/gateway.ts";
import { type ContentStore, cidOf, openContentStore } from "../../sdk/content/index.ts";
import { createLogger } from "../../sdk/logger.ts";
import { blockFileOf, blockFiles, pseudoRandom } from "./content-support.ts";

const APP_ORIGIN = "http://127.0.0.1:5999";

interface ErrorBody {
  error: { code: string; message: string };
}

describe("ContentGateway", () => {
  let work: string;
  let storeDir: string;
  let store: ContentStore;
  let gateway: ContentGateway;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "conun-gateway-test-"));
    storeDir = join(work, "store");
    store = await openContentStore({ kind: "local", dir: storeDir });
    gateway = await startContentGateway({
      store,
      log: createLogger({ level: "error" }),
      uploadOrigins: [APP_ORIGIN],
      maxUploadBytes: 1024 * 1024,
    });
  });

  afterEach(async () => {
    await gateway.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  describe("ContentGateway GET /ipfs/<cid>", () => {
    it("streams a multi-block file's exact bytes with an immutable cache header", async () => {
      const bytes = pseudoRandom(262_144 * 2 + 17, 3);
      const cid = await store.addBytes(bytes);
      const res = await fetch(`${gateway.url}/ipfs/${cid}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get("etag")).to.equal(`"${cid}"`);
      expect(res.headers.get("cache-control")).to.contain("immutable");
      expect(res.headers.get("access-control-allow-origin")).to.equal("*");
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).to.equal(true);
    });

    it("answers HEAD with the headers and no body", async () => {
      const cid = await store.addBytes(new TextEncoder().encode("hello"));
      const res = await fetch(`${gateway.url}/ipfs/${cid}`, { method: "HEAD" });
      expect(res.status).to.equal(200);
      expect(res.headers.get("x-conun-content")).to.equal("file");
      expect((await res.arrayBuffer()).byteLength).to.equal(0);
    });

    it("lists a directory recursively and serves files inside it by path", async () => {
      const dir = join(work, "bundle");
      await mkdir(join(dir, "tasks", "0"), { recursive: true });
      await writeFile(join(dir, "results.json"), '{"version":1}\n');
      await writeFile(join(dir, "tasks", "0", "out.txt"), "task zero\n");
      const cid = await store.addDirectory(dir);

      const listing = await fetch(`${gateway.url}/ipfs/${cid}`);
      expect(listing.status).to.equal(200);
      expect(listing.headers.get("x-conun-content")).to.equal("directory");
      expect(await listing.json()).to.deep.equal({
        cid,
        path: "",
        type: "directory",
        entries: [
          { path: "results.json", type: "file", size: 14 },
          { path: "tasks", type: "directory" },
          { path: "tasks/0", type: "directory" },
          { path: "tasks/0/out.txt", type: "file", size: 10 },
        ],
      });
      const file = await fetch(`${gateway.url}/ipfs/${cid}/tasks/0/out.txt`);
      expect(file.status).to.equal(200);
      expect(file.headers.get("content-type")).to.contain("text/plain");
      expect(await file.text()).to.equal("task zero\n");
      const json = await fetch(`${gateway.url}/ipfs/${cid}/results.json`);
      expect(json.headers.get("content-type")).to.equal("application/json");
      const sub = (await (
        await fetch(`${gateway.url}/ipfs/${cid}/tasks`)
      ).json()) as GatewayListing;
      expect(sub.entries.map((e: { path: string }) => e.path)).to.deep.equal(["0", "0/out.txt"]);
      const missing = await fetch(`${gateway.url}/ipfs/${cid}/tasks/9`);
      expect(missing.status).to.equal(404);
    });

    it("refuses a path that climbs out of the directory with 400", async () => {
      const dir = join(work, "d");
      await mkdir(dir);
      await writeFile(join(dir, "a"), "a");
      const cid = await store.addDirectory(dir);
      const res = await fetch(`${gateway.url}/ipfs/${cid}/%2e%2e%2fstore`);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as ErrorBody).error.code).to.equal("invalid-path");
    });

    it("answers 400 for a string that is not a CID the store accepts", async () => {
      for (const bad of ["not-a-cid", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"]) {
        const res = await fetch(`${gateway.url}/ipfs/${bad}`);
        expect(res.status, bad).to.equal(400);
        expect(((await res.json()) as ErrorBody).error.code).to.equal("invalid-cid");
      }
    });

    it("answers 404 for content the store does not hold", async () => {
      const cid = await cidOf(new TextEncoder().encode("never stored"));
      const res = await fetch(`${gateway.url}/ipfs/${cid}`);
      expect(res.status).to.equal(404);
      expect(((await res.json()) as ErrorBody).error.code).to.equal("content-not-found");
    });

    it("answers 502 when the stored bytes do not hash to the CID", async () => {
      const bytes = new TextEncoder().encode("the right bytes");
      const cid = await store.addBytes(bytes);
      const [file] = await blockFiles(storeDir);
      await writeFile(file as string, "the wrong bytes");
      const res = await fetch(`${gateway.url}/ipfs/${cid}`);
      expect(res.status).to.equal(502);
      expect(((await res.json()) as ErrorBody).error.code).to.equal("content-mismatch");
    });

    it("cuts a response short when a later block fails verification", async () => {
      const bytes = pseudoRandom(262_144 * 3, 9);
      const cid = await store.addBytes(bytes);
      const leaf = CID.createV1(raw.code, await sha256.digest(bytes.subarray(524_288)));
      const blockFile = await blockFileOf(storeDir, leaf);
      const stored = await readFile(blockFile);
      stored[10] = (stored[10] as number) ^ 1;
      await writeFile(blockFile, stored);
      const res = await fetch(`${gateway.url}/ipfs/${cid}`);
      expect(res.status).to.equal(200);
      let failed = false;
      try {
        await res.arrayBuffer();
      } catch {
        failed = true;
      }
      expect(failed, "the body must not complete").to.equal(true);
    });
  });

  describe("ContentGateway POST /upload", () => {
    it("stores the body and answers the CID ipfs add would give it", async () => {
      const bytes = pseudoRandom(300_000, 5);
      const res = await fetch(`${gateway.url}/upload`, {
        method: "POST",
        body: bytes,
        headers: { Origin: APP_ORIGIN, "Content-Type": "application/octet-stream" },
      });
      expect(res.status).to.equal(201);
      expect(res.headers.get("access-control-allow-origin")).to.equal(APP_ORIGIN);
      const body = (await res.json()) as { cid: string; size: number };
      expect(body).to.deep.equal({ cid: await cidOf(bytes), size: 300_000 });
      expect(Buffer.from(await store.getBytes(body.cid)).equals(Buffer.from(bytes))).to.equal(true);
    });

    it("answers a preflight from the app origin with the upload methods", async () => {
      const res = await fetch(`${gateway.url}/upload`, {
        method: "OPTIONS",
        headers: { Origin: APP_ORIGIN, "Access-Control-Request-Method": "POST" },
      });
      expect(res.status).to.equal(204);
      expect(res.headers.get("access-control-allow-methods")).to.contain("POST");
    });

    it("refuses uploads from other origins with 403 and stores nothing", async () => {
      const res = await fetch(`${gateway.url}/upload`, {
        method: "POST",
        body: "sneaky",
        headers: { Origin: "http://evil.example" },
      });
      expect(res.status).to.equal(403);
      expect(res.headers.get("access-control-allow-origin")).to.equal(null);
      expect(await store.has(await cidOf(new TextEncoder().encode("sneaky")))).to.equal(false);
    });

    it("refuses a body over the size limit with 413", async () => {
      const res = await fetch(`${gateway.url}/upload`, {
        method: "POST",
        body: new Uint8Array(1024 * 1024 + 1),
      });
      expect(res.status).to.equal(413);
      expect(((await res.json()) as ErrorBody).error.code).to.equal("upload-too-large");
    });

    it("refuses other methods on the content path with 405", async () => {
      const cid = await cidOf(new TextEncoder().encode("x"));
      const res = await fetch(`${gateway.url}/ipfs/${cid}`, { method: "DELETE" });
      expect(res.status).to.equal(405);
    });
  });
});
