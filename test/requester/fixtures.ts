// Shared set-up for the requester tool tests: an in-process chain with CONUN deployed, a
// requester account with tokens but no allowance, a temporary content store, a small
// `docker save`-shaped image archive (no Docker needed to read its image ID) and manifests.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as dagPb from "@ipld/dag-pb";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { FsBlockstore } from "blockstore-fs";
import { expect } from "chai";
import { network } from "hardhat";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import {
  type Connection,
  deployProtocol,
  ONE,
  type Protocol,
  saltOf,
} from "../../devnet/protocol.ts";
import { connectRequester, type RequesterContext } from "../../requester/context.ts";
import { postJob } from "../../requester/post.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import { type DevnetRecord, writeDevnet } from "../../sdk/devnet.ts";
import { ConunError } from "../../sdk/errors.ts";
import { type Deployment, deploymentFromAddresses } from "../../sdk/protocol/deployments.ts";
import { closeBiddingAfterDeadline, commitRoots, placeBids } from "../helpers/market.ts";

export interface RequesterFixture {
  connection: Connection;
  p: Protocol;
  deployment: Deployment;
  /** A requester holding 10 000 CONUN and no allowance to the market. */
  requester: HardhatEthersSigner;
  ctx: RequesterContext;
  store: ContentStore;
  dir: string;
  /** A fake `docker save` archive and its image ID. */
  archive: string;
  imageId: string;
  cleanup(): Promise<void>;
}

export async function deploymentOf(p: Protocol): Promise<Deployment> {
  const [token, registry, market] = await Promise.all([
    p.token.getAddress(),
    p.registry.getAddress(),
    p.market.getAddress(),
  ]);
  return deploymentFromAddresses(31337, { token, registry, market, startBlock: 0 });
}

/** Writes a tar shaped like `docker save` output: manifest.json naming a config blob. */
export async function writeImageArchive(
  dir: string,
): Promise<{ archive: string; imageId: string }> {
  const root = path.join(dir, "image");
  const config = JSON.stringify({ architecture: "amd64", os: "linux", config: {} });
  const hex = createHash("sha256").update(config).digest("hex");
  await mkdir(path.join(root, "blobs", "sha256"), { recursive: true });
  await writeFile(path.join(root, "blobs", "sha256", hex), config);
  await writeFile(
    path.join(root, "manifest.json"),
    JSON.stringify([{ Config: `blobs/sha256/${hex}`, RepoTags: ["test:1"], Layers: [] }]),
  );
  const archive = path.join(dir, "image.tar");
  execFileSync("tar", [
    "--create",
    "--file",
    archive,
    "--directory",
    root,
    "manifest.json",
    "blobs",
  ]);
  return { archive, imageId: `sha256:${hex}` };
}

/** A valid source manifest; `overrides` replace top-level fields. */
export function sourceManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    name: "requester-test",
    deterministic: true,
    image: { archive: "./image.tar" },
    command: ["/bin/render"],
    tasks: { count: 2 },
    resources: { cpuMillicores: 500, memoryMiB: 128, timeoutSeconds: 30 },
    replication: { k: 3, quorum: 2 },
    price: { maxPerTaskReplica: "1.5", stakePerTaskReplica: "2" },
    windows: { biddingSeconds: 60, executionSeconds: 600, revealSeconds: 300 },
    ...overrides,
  };
}

export async function requesterFixture(connection: Connection): Promise<RequesterFixture> {
  const p = await deployProtocol(connection);
  const requester = p.others[0];
  if (requester === undefined) throw new Error("no spare account");
  await p.token.transfer(requester.address, 10_000n * ONE);
  const deployment = await deploymentOf(p);
  const dir = await mkdtemp(path.join(tmpdir(), "conun-requester-"));
  const store = await openContentStore({ kind: "local", dir: path.join(dir, "store") });
  const ctx = await connectRequester({ signer: requester, store, deployment });
  const { archive, imageId } = await writeImageArchive(dir);
  return {
    connection,
    p,
    deployment,
    requester,
    ctx,
    store,
    dir,
    archive,
    imageId,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A requesterFixture on a fresh in-process chain of its own (each test's, in a beforeEach). */
export async function freshRequesterFixture(): Promise<RequesterFixture> {
  return requesterFixture(await network.create({ chainType: "l1" }));
}

/** Awaits `promise`, which must reject with a ConunError carrying `code`, and returns the error. */
export async function expectConunError(
  promise: Promise<unknown>,
  code: string,
): Promise<ConunError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ConunError);
    expect((error as ConunError).code).to.equal(code);
    return error as ConunError;
  }
  throw new Error(`expected an error with code ${code}`);
}

/**
 * Posts `manifest` (the default source manifest unless given) through the requester library,
 * has `providers` bid ONE per slot with `capacity(i)` slots each (2 unless given), and closes
 * bidding once its deadline has passed: the job is assigned and ready to commit.
 */
export async function postAndAward(
  f: RequesterFixture,
  providers: HardhatEthersSigner[],
  {
    manifest = sourceManifest(),
    capacity = () => 2,
  }: { manifest?: Record<string, unknown>; capacity?: (i: number) => number } = {},
): Promise<{ jobId: bigint; manifestText: string }> {
  const { jobId, manifestText } = await postJob(f.ctx, { manifest, baseDir: f.dir });
  await placeBids(
    f.p,
    jobId,
    providers.map((provider, i) => ({ provider, price: ONE, capacity: capacity(i) })),
  );
  await closeBiddingAfterDeadline(f.connection, f.p, jobId);
  return { jobId, manifestText };
}

/** What one provider commits to and reveals: a root per group it holds (`assignmentsOf` order), and its results CID. */
export interface ProviderReveal {
  provider: HardhatEthersSigner;
  roots: string[];
  cid: string;
}

/**
 * Has each provider commit its roots (commitRoots, with its devnet salt), then each reveal them
 * with its own CID, in the given order, and finalizes the job.
 */
export async function commitRevealFinalize(
  f: RequesterFixture,
  jobId: bigint,
  reveals: ProviderReveal[],
): Promise<void> {
  for (const { provider, roots } of reveals) {
    await commitRoots(f.connection, f.p, jobId, provider, roots);
  }
  for (const { provider, roots, cid } of reveals) {
    await f.p.market
      .connect(provider)
      .reveal(jobId, roots, saltOf(f.connection, provider.address), cid);
  }
  await f.p.market.finalize(jobId);
}

/**
 * A crafted UnixFS directory put straight into the blocks of the content store at `storeDir`,
 * naming one file `name` twice (which no honest bundle does); returns its CID.
 */
export async function storeDuplicatedEntryDirectory(
  storeDir: string,
  name: string,
): Promise<string> {
  const blocks = new FsBlockstore(storeDir);
  await blocks.open();
  try {
    const payload = new TextEncoder().encode("owned");
    const leaf = CID.createV1(raw.code, await sha256.digest(payload));
    await blocks.put(leaf, payload);
    const node = dagPb.encode(
      dagPb.prepare({
        Data: new UnixFS({ type: "directory" }).marshal(),
        Links: [
          { Hash: leaf, Name: name, Tsize: payload.length },
          { Hash: leaf, Name: name, Tsize: payload.length },
        ],
      }),
    );
    const cid = CID.createV1(dagPb.code, await sha256.digest(node));
    await blocks.put(cid, node);
    return cid.toString();
  } finally {
    await blocks.close();
  }
}

/**
 * Writes a devnet record (sdk/devnet.ts) that sends the requester tools to `fields`' chain,
 * deployment and content store, as a running demo's record would; a subgraph not given, the
 * gateway and the dApp point at a closed port, so nothing reaches a real demo by accident.
 */
export async function writeTestDevnet(
  file: string,
  fields: Pick<DevnetRecord, "chainId" | "rpcUrl" | "deployment" | "contentDir"> &
    Partial<Pick<DevnetRecord, "subgraphUrl">>,
): Promise<string> {
  return writeDevnet(
    {
      subgraphUrl: "http://127.0.0.1:9/subgraphs/name/conun",
      gatewayUrl: "http://127.0.0.1:9",
      appUrl: "http://127.0.0.1:9",
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...fields,
    },
    file,
  );
}
