import type { PostedJob } from "../../../sdk/chain/index.ts";

const ONE = 10n ** 18n;

/** A job as discovery reports it: 10 tasks × 3 replicas of a 1-CPU, 256 MiB task at 1 CONUN. */
export function postedJob(spec: Partial<PostedJob["spec"]> = {}): PostedJob {
  return {
    jobId: 1n,
    requester: "0x0000000000000000000000000000000000000001",
    blockNumber: 1,
    biddingDeadline: 1000n,
    spec: {
      manifestCid: "bafy",
      manifestDigest: `0x${"11".repeat(32)}`,
      imageRef: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
      imageDigest: `0x${"22".repeat(32)}`,
      taskCount: 10,
      replication: 3,
      quorum: 2,
      maxPrice: ONE,
      stakePerTaskReplica: 10n * ONE,
      biddingWindow: 600,
      executionWindow: 600,
      revealWindow: 600,
      cpuMillicores: 1000,
      memoryMiB: 256,
      gpuCount: 0,
      ...spec,
    },
  };
}
