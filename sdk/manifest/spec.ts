import { formatUnits, hexlify, parseUnits } from "ethers";
import type { JobSpec } from "../chain/contracts.ts";
import type { Manifest } from "./schema.ts";
import { manifestDigest } from "./serialize.ts";

export type { JobSpec };

/** A JobSpec as read back from the chain (event args or a call): integers may be bigints. */
export type JobSpecLike = {
  [K in keyof JobSpec]: JobSpec[K] extends string ? string : bigint | number;
};

/** The on-chain JobSpec for a resolved manifest stored at `manifestCid`. */
export function specFromManifest(
  manifest: Manifest,
  reference: { manifestCid: string; manifestDigest: string | Uint8Array },
): JobSpec {
  const digest =
    typeof reference.manifestDigest === "string"
      ? reference.manifestDigest.toLowerCase()
      : hexlify(reference.manifestDigest);
  if (!/^0x[0-9a-f]{64}$/.test(digest)) {
    throw new TypeError(`manifestDigest must be 32 bytes, got ${digest}`);
  }
  return {
    manifestCid: reference.manifestCid,
    manifestDigest: digest,
    imageRef: manifest.image.ref,
    imageDigest: imageDigestOf(manifest),
    taskCount: manifest.tasks.count,
    replication: manifest.replication.k,
    quorum: manifest.replication.quorum,
    maxPrice: parseUnits(manifest.price.maxPerTaskReplica, 18),
    stakePerTaskReplica: parseUnits(manifest.price.stakePerTaskReplica, 18),
    biddingWindow: manifest.windows.biddingSeconds,
    executionWindow: manifest.windows.executionSeconds,
    revealWindow: manifest.windows.revealSeconds,
    cpuMillicores: manifest.resources.cpuMillicores,
    memoryMiB: manifest.resources.memoryMiB,
    gpuCount: manifest.resources.gpuCount,
  };
}

/** One way an on-chain spec disagrees with its manifest. */
export interface SpecMismatch {
  field: keyof JobSpec;
  onChain: string;
  inManifest: string;
  message: string;
}

/**
 * Every field where `spec` (as posted on chain) disagrees with `manifest`. A worker refuses
 * to bid on a job with any mismatch: the chain pays for what the spec says, the container
 * runs what the manifest says, and they must be the same job. With `manifestBytes` (the bytes
 * fetched by `spec.manifestCid`, already verified against the CID) the digest is checked too.
 * `manifestCid` itself is not compared: it is where the manifest was fetched from.
 */
export function checkSpecMatchesManifest(
  spec: JobSpecLike,
  manifest: Manifest,
  options: { manifestBytes?: Uint8Array } = {},
): SpecMismatch[] {
  const expected = specFromManifest(manifest, {
    manifestCid: spec.manifestCid,
    manifestDigest:
      options.manifestBytes === undefined
        ? normaliseHex(spec.manifestDigest)
        : manifestDigest(options.manifestBytes),
  });
  const mismatches: SpecMismatch[] = [];
  for (const field of Object.keys(expected) as (keyof JobSpec)[]) {
    const want = expected[field];
    const got = spec[field];
    const same =
      typeof want === "string"
        ? field === "imageRef"
          ? got === want
          : normaliseHex(String(got)) === want
        : BigInt(got) === BigInt(want);
    if (!same) {
      const show = (v: unknown) =>
        field === "maxPrice" || field === "stakePerTaskReplica"
          ? `${formatUnits(BigInt(v as bigint), 18)} CONUN`
          : String(v);
      mismatches.push({
        field,
        onChain: String(got),
        inManifest: String(want),
        message: `${field}: on chain ${show(got)}, manifest says ${show(want)}`,
      });
    }
  }
  return mismatches;
}

function imageDigestOf(manifest: Manifest): string {
  return `0x${manifest.image.id.slice("sha256:".length)}`;
}

function normaliseHex(value: string): string {
  return value.toLowerCase();
}
