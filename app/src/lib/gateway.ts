/** The content gateway as seen from the browser (sdk/content/gateway.ts is the server). */
import type { GatewayListing } from "../../../sdk/content/gateway.ts";
import type { BundleSource } from "../../../sdk/results/job.ts";

export type { GatewayListing };

async function failure(res: Response, what: string): Promise<Error> {
  let detail = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body.error?.message) detail = `${body.error.message} (HTTP ${res.status})`;
  } catch {
    // Not JSON: the status is all there is.
  }
  return new Error(`${what}: ${detail}`);
}

export async function upload(gatewayUrl: string, bytes: Uint8Array | Blob): Promise<string> {
  const res = await fetch(`${gatewayUrl}/upload`, {
    method: "POST",
    body: bytes instanceof Blob ? bytes : new Blob([new Uint8Array(bytes)]),
    headers: { "Content-Type": "application/octet-stream" },
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 201) throw await failure(res, "upload to the content gateway failed");
  return ((await res.json()) as { cid: string }).cid;
}

export function contentUrl(gatewayUrl: string, cid: string, path = ""): string {
  const suffix = path === "" ? "" : `/${path.split("/").map(encodeURIComponent).join("/")}`;
  return `${gatewayUrl}/ipfs/${cid}${suffix}`;
}

export async function fetchBytes(gatewayUrl: string, cid: string, path = ""): Promise<Uint8Array> {
  const res = await fetch(contentUrl(gatewayUrl, cid, path), {
    signal: AbortSignal.timeout(60_000),
  });
  if (!res.ok) throw await failure(res, `cannot fetch ${cid}${path ? `/${path}` : ""}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function listDirectory(gatewayUrl: string, cid: string): Promise<GatewayListing> {
  const res = await fetch(contentUrl(gatewayUrl, cid), { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw await failure(res, `cannot list ${cid}`);
  if (res.headers.get("x-conun-content") !== "directory") {
    throw new Error(`${cid} is a file, not a results bundle directory`);
  }
  return (await res.json()) as GatewayListing;
}

/** The gateway as the source of revealed bundles that sdk/results/job.ts verifies. */
export function gatewaySource(gatewayUrl: string): BundleSource {
  return {
    list: (cid) => listDirectory(gatewayUrl, cid),
    read: (cid, path) => fetchBytes(gatewayUrl, cid, path),
    urlOf: (cid, path) => contentUrl(gatewayUrl, cid, path),
  };
}
