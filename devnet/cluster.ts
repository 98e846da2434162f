// A local CONUN deployment for the worker's integration tests and benchmark: a Hardhat node in
// its own process, a shared local content store, a test image stored as an `ipfs://` archive,
// jobs posted from real manifests, and workers started as separate processes exactly as a
// provider starts them (`node worker/src/cli.ts run --config …`).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseUnits } from "ethers";
import { openContentStore } from "../sdk/content/index.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import {
  type Manifest,
  manifestBytes,
  manifestDigest,
  parseManifest,
  specFromManifest,
} from "../sdk/manifest/index.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import { type Chain, ONE, startLocalNode } from "./chain.ts";
import { busyboxImage, saveImage, type TestImage } from "./images.ts";

export interface Cluster {
  /** The chain: a plain `hardhat node` (chain.ts), the protocol deployed with ethers. */
  node: Chain;
  dir: string;
  storeDir: string;
  store: ContentStore;
  image: TestImage;
  /** `ipfs://<cid>` of the image archive. */
  imageRef: string;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "conun-worker-it-"));
  const storeDir = path.join(dir, "content");
  const image = await busyboxImage();
  const node = await startLocalNode();
  try {
    const store = await openContentStore({ kind: "local", dir: storeDir });
    const archive = await saveImage(image.id, path.join(dir, "image.tar"));
    const imageCid = await store.addFile(archive);
    return {
      node,
      dir,
      storeDir,
      store,
      image,
      imageRef: `ipfs://${imageCid}`,
      stop: async () => {
        await store.close();
        await node.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

/** Account roles on the local node: 0 owner, 1 treasury, 2 requester, 3.. providers. */
export const REQUESTER = 2;
export const FIRST_PROVIDER = 3;

/** Sends each provider account CONUN to stake from. */
export async function fundProviders(cluster: Cluster, accounts: number[], amount = 1000n * ONE) {
  const token = ConunToken__factory.connect(cluster.node.deployment.token, cluster.node.signer(0));
  for (const account of accounts) {
    const wallet = cluster.node.wallets[account];
    if (wallet === undefined) throw new Error(`no account ${account}`);
    await (await token.transfer(wallet.address, amount)).wait();
  }
}

export interface JobOptions {
  /** Shell script run by /bin/sh -c in each task. */
  script?: string;
  taskCount?: number;
  timeoutSeconds?: number;
  cpuMillicores?: number;
  biddingSeconds?: number;
  executionSeconds?: number;
  revealSeconds?: number;
  maxPrice?: string;
  /** The full argv instead of `/bin/sh -c script`. */
  command?: string[];
  /** k (quorum = k/2 + 1); default 3. */
  replication?: number;
  memoryMiB?: number;
  pids?: number;
  /** Another image than the cluster's: its reference and the ID the manifest claims. */
  image?: { ref: string; id: string };
}

export const DEFAULT_SCRIPT = 'echo "task $TASK_INDEX of $TASK_COUNT" > /output/result.txt';

/** Stores a resolved manifest and posts its job as the requester; returns the job id. */
export async function postManifestJob(
  cluster: Cluster,
  options: JobOptions = {},
): Promise<{ jobId: bigint; manifest: Manifest; manifestCid: string }> {
  const manifest = parseManifest(
    {
      version: 1,
      name: "worker-integration",
      deterministic: true,
      image: options.image ?? { ref: cluster.imageRef, id: cluster.image.id },
      command: options.command ?? ["/bin/sh", "-c", options.script ?? DEFAULT_SCRIPT],
      tasks: { count: options.taskCount ?? 1 },
      resources: {
        cpuMillicores: options.cpuMillicores ?? 500,
        memoryMiB: options.memoryMiB ?? 64,
        gpuCount: 0,
        timeoutSeconds: options.timeoutSeconds ?? 20,
        maxOutputBytes: 1 << 20,
        pids: options.pids ?? 32,
      },
      replication: {
        k: options.replication ?? 3,
        quorum: Math.floor((options.replication ?? 3) / 2) + 1,
      },
      price: { maxPerTaskReplica: options.maxPrice ?? "1", stakePerTaskReplica: "10" },
      windows: {
        biddingSeconds: options.biddingSeconds ?? 3600,
        executionSeconds: options.executionSeconds ?? 3600,
        revealSeconds: options.revealSeconds ?? 3600,
      },
    },
    { form: "resolved" },
  );
  const bytes = manifestBytes(manifest);
  const manifestCid = await cluster.store.addBytes(bytes);
  const spec = specFromManifest(manifest, { manifestCid, manifestDigest: manifestDigest(bytes) });
  const requester = cluster.node.signer(REQUESTER);
  const token = ConunToken__factory.connect(cluster.node.deployment.token, cluster.node.signer(0));
  const escrow =
    parseUnits(options.maxPrice ?? "1", 18) * BigInt(spec.taskCount) * BigInt(spec.replication);
  await (await token.transfer(await requester.getAddress(), escrow)).wait();
  await (await token.connect(requester).approve(cluster.node.deployment.market, escrow)).wait();
  const market = JobMarket__factory.connect(cluster.node.deployment.market, requester);
  await (await market.postJob(spec)).wait();
  return { jobId: await market.jobCount(), manifest, manifestCid };
}
