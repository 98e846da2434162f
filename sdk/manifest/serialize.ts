import { sha256 } from "ethers";
import type { Manifest, SourceManifest } from "./schema.ts";
import { resolvedManifestSchema, sourceManifestSchema } from "./schema.ts";

/**
 * The canonical bytes of a manifest: JSON, two-space indented, one trailing newline, keys in
 * the schema's order (env sorted by name), defaults written out. The same manifest always
 * gives the same bytes, hence the same CID and on-chain digest, whatever order its object
 * was built in; and a resolved manifest says everything explicitly, so a worker never
 * depends on a default it might not share.
 */
export function serializeManifest(manifest: Manifest | SourceManifest): string {
  const isResolved = !hasLocalReferences(manifest);
  const schema = isResolved ? resolvedManifestSchema : sourceManifestSchema;
  // Re-parsing validates, applies defaults and rebuilds every object in the schema's key order.
  const normalised = schema.parse(manifest) as Record<string, unknown>;
  const env = normalised.env as Record<string, string> | undefined;
  if (env !== undefined) {
    normalised.env = Object.fromEntries(
      Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  return `${JSON.stringify(normalised, null, 2)}\n`;
}

/** The canonical bytes as UTF-8. */
export function manifestBytes(manifest: Manifest | SourceManifest): Uint8Array {
  return new TextEncoder().encode(serializeManifest(manifest));
}

/** `JobSpec.manifestDigest`: SHA-256 of the exact manifest bytes, 0x-prefixed hex. */
export function manifestDigest(bytes: Uint8Array): string {
  return sha256(bytes);
}

function hasLocalReferences(manifest: Manifest | SourceManifest): boolean {
  const image = manifest.image as { archive?: string };
  return (
    image.archive !== undefined ||
    (manifest.inputs ?? []).some((input) => (input as { source?: string }).source !== undefined)
  );
}
