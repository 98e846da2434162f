// The worker's gate before bidding: a manifest fetched by CID from a real local content store
// is accepted only when its SHA-256 is the on-chain digest and it agrees with the on-chain spec.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { PostedJob } from "../../sdk/chain/index.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import { isConunError } from "../../sdk/errors.ts";
import {
  manifestBytes,
  manifestDigest,
  parseManifest,
  specFromManifest,
} from "../../sdk/manifest/index.ts";
import { fetchVerifiedManifest } from "../../worker/src/jobs/manifest.ts";

const IMAGE_ID = `sha256:${"ab".repeat(32)}`;

const manifest = parseManifest(
  {
    version: 1,
    name: "check",
    deterministic: true,
    image: {
      ref: `ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku`,
      id: IMAGE_ID,
    },
    command: ["/bin/true"],
    tasks: { count: 2 },
    resources: {
      cpuMillicores: 500,
      memoryMiB: 64,
      gpuCount: 0,
      timeoutSeconds: 10,
      maxOutputBytes: 1024,
      pids: 16,
    },
    replication: { k: 3, quorum: 2 },
    price: { maxPerTaskReplica: "1", stakePerTaskReplica: "10" },
    windows: { biddingSeconds: 60, executionSeconds: 600, revealSeconds: 300 },
  },
  { form: "resolved" },
);

describe("fetchVerifiedManifest", () => {
  let dir: string;
  let store: ContentStore;
  let job: PostedJob;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-manifest-check-"));
    store = await openContentStore({ kind: "local", dir });
    const bytes = manifestBytes(manifest);
    const manifestCid = await store.addBytes(bytes);
    const spec = specFromManifest(manifest, { manifestCid, manifestDigest: manifestDigest(bytes) });
    job = {
      jobId: 1n,
      requester: "0x0000000000000000000000000000000000000001",
      blockNumber: 1,
      biddingDeadline: 100n,
      spec: {
        ...spec,
        taskCount: Number(spec.taskCount),
        replication: Number(spec.replication),
        quorum: Number(spec.quorum),
        maxPrice: BigInt(spec.maxPrice),
        stakePerTaskReplica: BigInt(spec.stakePerTaskReplica),
        biddingWindow: Number(spec.biddingWindow),
        executionWindow: Number(spec.executionWindow),
        revealWindow: Number(spec.revealWindow),
        cpuMillicores: Number(spec.cpuMillicores),
        memoryMiB: Number(spec.memoryMiB),
        gpuCount: Number(spec.gpuCount),
      } as PostedJob["spec"],
    };
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function refusal(posted: PostedJob): Promise<{ code: string; message: string }> {
    const error = await fetchVerifiedManifest(store, posted).catch((e: unknown) => e);
    expect(isConunError(error), String(error)).to.equal(true);
    return error as { code: string; message: string };
  }

  it("returns the manifest when the bytes, the digest and the spec agree", async () => {
    const fetched = await fetchVerifiedManifest(store, job);
    expect(fetched.image.id).to.equal(IMAGE_ID);
    expect(fetched.resources.timeoutSeconds).to.equal(10);
  });

  it("refuses a manifest whose SHA-256 is not the on-chain digest", async () => {
    const error = await refusal({
      ...job,
      spec: { ...job.spec, manifestDigest: `0x${"00".repeat(32)}` },
    });
    expect(error.code).to.equal("manifest-digest-mismatch");
  });

  it("refuses a job whose on-chain spec disagrees with its manifest, naming the field", async () => {
    const error = await refusal({ ...job, spec: { ...job.spec, memoryMiB: 32 } });
    expect(error.code).to.equal("manifest-spec-mismatch");
    expect(error.message).to.contain("memoryMiB: on chain 32, in the manifest 64");
  });

  it("refuses a manifest the store does not have", async () => {
    const missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    const error = await refusal({ ...job, spec: { ...job.spec, manifestCid: missing } });
    expect(error.code).to.equal("manifest-unavailable");
  });

  it("refuses bytes that are not a valid manifest", async () => {
    const bytes = new TextEncoder().encode('{"version": 2}');
    const cid = await store.addBytes(bytes);
    const error = await refusal({
      ...job,
      spec: { ...job.spec, manifestCid: cid, manifestDigest: manifestDigest(bytes) },
    });
    expect(error.code).to.equal("job-manifest-invalid");
  });
});
