// The addresses the embedded IPFS node (ipfs.ts) accepts: libp2p multiaddrs over TCP, the only
// transport it runs. One rule for every place that takes them from a user — the worker's
// configuration and the requester tools — so they accept and word the same things.
import { multiaddr } from "@multiformats/multiaddr";

/**
 * Why `value` is not a TCP multiaddr the node can use as a listen address or a peer, or
 * undefined when it is. A peer may end in /p2p/<peer id>; without it the node dials whoever
 * listens there (blocks are verified by CID either way, and a restarted node gets a new id, so
 * bare addresses survive restarts).
 */
export function tcpAddressProblem(value: string, what: "listen" | "peer"): string | undefined {
  let names: string[];
  try {
    names = multiaddr(value)
      .getComponents()
      .map((component) => component.name);
  } catch (error) {
    return `${JSON.stringify(value)} is not a multiaddr (${error instanceof Error ? error.message : String(error)})`;
  }
  const host = names[0];
  if (
    host === undefined ||
    !["ip4", "ip6", "dns", "dns4", "dns6"].includes(host) ||
    names[1] !== "tcp"
  ) {
    return `${JSON.stringify(value)} must be a TCP address, e.g. /ip4/203.0.113.7/tcp/4010${what === "peer" ? " (optionally ending in /p2p/<peer id>)" : ""}`;
  }
  const rest = names.slice(2);
  if (what === "listen" ? rest.length > 0 : rest.length > 1 || (rest[0] ?? "p2p") !== "p2p") {
    return `${JSON.stringify(value)}: nothing may follow the TCP port${what === "peer" ? " but /p2p/<peer id>" : ""}`;
  }
  return undefined;
}
