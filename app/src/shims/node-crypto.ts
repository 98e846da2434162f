// The one node:crypto use the browser reaches: SHA-256 of manifest bytes
// (sdk/manifest/serialize.ts manifestDigest). ethers' sha256 is synchronous, like Node's.
import { concat, sha256 } from "ethers";

export function createHash(algorithm: string) {
  if (algorithm !== "sha256") throw new Error(`createHash(${algorithm}) is not available here`);
  const parts: Uint8Array[] = [];
  const hash = {
    update(data: Uint8Array | string) {
      parts.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
      return hash;
    },
    digest(encoding: "hex") {
      if (encoding !== "hex") throw new Error(`digest(${encoding}) is not available here`);
      return sha256(concat(parts)).slice(2);
    },
  };
  return hash;
}
