// The deployment hash (`_meta.deployment`) against graph-cli's own upload: `graph build --ipfs`
// runs graph-cli's compiler (uploadSubgraphToIPFS) against a Kubo-API stand-in that records
// what it is sent, and the host must reconstruct the same manifest text and the same hash.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { silentLogger } from "../../sdk/logger.ts";
import {
  deploymentHash,
  ipfsAddCidV0,
  uploadedManifest,
} from "../../subgraph-host/src/deployment-hash.ts";
import { startSubgraphHost } from "../../subgraph-host/src/host.ts";
import { BUILD_DIR } from "../helpers/subgraph-host.ts";

const SUBGRAPH_DIR = path.join(import.meta.dirname, "..", "..", "subgraph");

interface KuboStandIn {
  url: string;
  /** Every file added, by the path graph-cli gave it, with the CID answered. */
  added: { path: string; bytes: Buffer; cid: string }[];
  pinned: string[];
  close(): Promise<void>;
}

/**
 * Answers Kubo's /api/v0/add (multipart in, NDJSON out) and /api/v0/pin/add, as graph-cli's
 * kubo-rpc-client calls them. The CIDs it answers are the host's ipfsAddCidV0, checked against
 * Kubo's own outputs in the first test.
 */
async function startKuboStandIn(): Promise<KuboStandIn> {
  const added: KuboStandIn["added"] = [];
  const pinned: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname.endsWith("/pin/add")) {
        const arg = url.searchParams.get("arg") ?? "";
        pinned.push(arg);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ Pins: [arg] }));
        return;
      }
      if (!url.pathname.endsWith("/add")) {
        res.writeHead(404);
        res.end();
        return;
      }
      const form = await new Request("http://localhost/", {
        method: "POST",
        headers: { "content-type": String(req.headers["content-type"]) },
        body: Buffer.concat(chunks),
      }).formData();
      const lines: string[] = [];
      for (const value of form.values()) {
        if (typeof value === "string") continue;
        const bytes = Buffer.from(await value.arrayBuffer());
        const name = decodeURIComponent(value.name);
        const cid = await ipfsAddCidV0(bytes);
        added.push({ path: name, bytes, cid });
        lines.push(JSON.stringify({ Name: name, Hash: cid, Size: String(bytes.length) }));
      }
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end(`${lines.join("\n")}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    added,
    pinned,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `graph build --ipfs` on CONUN's subgraph into `outputDir`; returns the hash it prints. */
function graphBuildWithIpfs(ipfsUrl: string, outputDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "npx",
      [
        ...["graph", "build", "--ipfs", ipfsUrl, "--output-dir", outputDir],
        ...["--skip-migrations", "subgraph.yaml"],
      ],
      { cwd: SUBGRAPH_DIR, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 170_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips graph-cli's colours
      const plain = output.replace(/\u001b\[[0-9;]*m/g, "");
      const match = /Build completed: (Qm\w+)/.exec(plain);
      if (code === 0 && match?.[1] !== undefined) resolve(match[1]);
      else reject(new Error(`graph build --ipfs failed (${code}):\n${plain}`));
    });
  });
}

describe("deploymentHash (subgraph-host/src/deployment-hash.ts)", function () {
  this.timeout(180_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "conun-deployment-hash-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the CIDv0 Kubo's `ipfs add` gives, one chunk or several", async () => {
    // `echo "hello world" | ipfs add`, `echo hello | ipfs add --cid-version 0` (recorded in
    // kubo's test/sharness/t0114-gateway-subdomains/README.md) and an empty file, Kubo's defaults.
    expect(await ipfsAddCidV0(Buffer.from("hello\n"))).to.equal(
      "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
    );
    expect(await ipfsAddCidV0(Buffer.from("hello world\n"))).to.equal(
      "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    );
    expect(await ipfsAddCidV0(new Uint8Array(0))).to.equal(
      "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
    );
    // Past one 256 KiB chunk the root links its chunks: a different CID from the first chunk's.
    const big = new Uint8Array(262_144 + 1).fill(7);
    const first = await ipfsAddCidV0(big.subarray(0, 262_144));
    expect(await ipfsAddCidV0(big))
      .to.match(/^Qm[1-9A-HJ-NP-Za-km-z]{44}$/)
      .and.not.equal(first);
  });

  it("reproduces graph-cli's uploaded manifest and its hash for CONUN's build", async () => {
    const kubo = await startKuboStandIn();
    try {
      const outputDir = path.join(dir, "build");
      const printed = await graphBuildWithIpfs(kubo.url, outputDir);
      const uploaded = kubo.added.find((a) => a.path === "subgraph.yaml");
      expect(uploaded, "graph-cli uploaded a subgraph.yaml").to.not.equal(undefined);
      expect(uploaded?.cid).to.equal(printed);
      expect(kubo.pinned).to.include(printed);

      const mine = await uploadedManifest(path.join(outputDir, "subgraph.yaml"));
      expect(mine.text).to.equal(uploaded?.bytes.toString("utf8"));
      expect(mine.deployment).to.equal(printed);
      // Every file graph-cli uploaded is linked by its CID in the manifest.
      for (const file of kubo.added.filter((a) => a.path !== "subgraph.yaml")) {
        expect(mine.text).to.include(`/ipfs/${file.cid}`);
      }
    } finally {
      await kubo.close();
    }
  });

  it("changes with any referenced file, and is what the host serves", async () => {
    const copy = path.join(dir, "copy");
    cpSync(BUILD_DIR, copy, { recursive: true });
    const before = await deploymentHash(path.join(copy, "subgraph.yaml"));
    expect(before).to.equal(await deploymentHash(path.join(BUILD_DIR, "subgraph.yaml")));
    const schemaPath = path.join(copy, "schema.graphql");
    writeFileSync(schemaPath, `${readFileSync(schemaPath, "utf8")}\n`);
    const after = await deploymentHash(path.join(copy, "subgraph.yaml"));
    expect(after).to.not.equal(before);

    const host = await startSubgraphHost({
      buildDir: copy,
      rpcUrl: "http://127.0.0.1:9", // never answers: this test only reads what the host serves
      dbPath: ":memory:",
      name: "copy",
      port: 0,
      logger: silentLogger,
      maxBackoffMs: 50,
    });
    try {
      expect(host.deployment).to.equal(after);
      expect(host.idUrl).to.equal(
        host.url.replace("/subgraphs/name/copy", `/subgraphs/id/${after}`),
      );
      const page = await fetch(host.idUrl, { signal: AbortSignal.timeout(5_000) });
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include(`(deployment ${after})`);
    } finally {
      await host.close();
    }
  });
});
