// Fetches a job's manifest by CID and proves it is the one the chain names before the worker
// trusts a byte of it: the content store verifies the CID, the worker checks SHA-256 against
// the on-chain manifestDigest, validates the manifest, and compares it with the on-chain spec.
import { createHash } from "node:crypto";
import type { PostedJob } from "../../../sdk/chain/index.ts";
import type { ContentStore } from "../../../sdk/content/types.ts";
import { errorClass } from "../../../sdk/errors.ts";
import {
  checkSpecMatchesManifest,
  type Manifest,
  parseManifest,
  type SpecMismatch,
} from "../../../sdk/manifest/index.ts";

/** A resolved version-1 manifest (see sdk/manifest). */
export type JobManifest = Manifest;

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"job-manifest", ManifestRefused> {}
}

/**
 * Why a worker refuses a job's manifest (and so the job): `manifest-unavailable` (the store does
 * not have it, or not in time), `manifest-digest-mismatch` (its bytes do not hash to the digest
 * the job names), `job-manifest-invalid` (it does not parse: the cause is the parser's
 * `manifest-invalid`), `manifest-spec-mismatch` (it disagrees with what the job posted on chain).
 */
// biome-ignore format: a domain's codes stay on one line
export class ManifestRefused extends errorClass("job-manifest", ["manifest-unavailable", "manifest-digest-mismatch", "job-manifest-invalid", "manifest-spec-mismatch"]) {}

const MAX_MANIFEST_BYTES = 1024 * 1024;

export async function fetchVerifiedManifest(
  store: ContentStore,
  job: PostedJob,
  signal?: AbortSignal,
): Promise<JobManifest> {
  const { spec } = job;
  let bytes: Uint8Array;
  try {
    bytes = await store.getBytes(spec.manifestCid, {
      maxBytes: MAX_MANIFEST_BYTES,
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new ManifestRefused(
      "manifest-unavailable",
      `manifest ${spec.manifestCid} cannot be read`,
      {
        cause,
      },
    );
  }
  const digest = `0x${createHash("sha256").update(bytes).digest("hex")}`;
  if (digest !== spec.manifestDigest.toLowerCase()) {
    throw new ManifestRefused(
      "manifest-digest-mismatch",
      `manifest ${spec.manifestCid} hashes to ${digest}, the job says ${spec.manifestDigest}`,
    );
  }
  let manifest: JobManifest;
  try {
    manifest = parseManifest(bytes, { form: "resolved" });
  } catch (cause) {
    throw new ManifestRefused("job-manifest-invalid", `manifest ${spec.manifestCid} is invalid`, {
      cause,
    });
  }
  const mismatches = checkSpecMatchesManifest(spec, manifest, { manifestBytes: bytes });
  if (mismatches.length > 0) {
    throw new ManifestRefused(
      "manifest-spec-mismatch",
      `the on-chain spec disagrees with the manifest: ${mismatches.map(describe).join("; ")}`,
    );
  }
  if (manifest.image.ref !== spec.imageRef) {
    throw new ManifestRefused(
      "manifest-spec-mismatch",
      "image.ref differs from the on-chain imageRef",
    );
  }
  return manifest;
}

function describe(mismatch: SpecMismatch): string {
  return `${mismatch.field}: on chain ${mismatch.onChain}, in the manifest ${mismatch.inManifest}`;
}
