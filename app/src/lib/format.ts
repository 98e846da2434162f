import { formatUnits } from "ethers";
import { escapeUntrusted } from "../../../sdk/text.ts";

/** Token amount in CONUN with at most 4 decimals, e.g. "12.5 CONUN". */
export function conun(wei: bigint | null | undefined): string {
  if (wei === null || wei === undefined) return "—";
  const [whole = "0", fraction = ""] = formatUnits(wei, 18).split(".");
  const trimmed = fraction.slice(0, 4).replace(/0+$/, "");
  return `${Number(whole).toLocaleString("en-US")}${trimmed ? `.${trimmed}` : ""} CONUN`;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function shortHash(hash: string | null | undefined): string {
  if (!hash) return "—";
  // CIDs on chain are whatever string a requester or provider sent: shown escaped.
  return `${escapeUntrusted(hash.slice(0, 10))}…${escapeUntrusted(hash.slice(-6))}`;
}

export function time(seconds: bigint | number | null | undefined): string {
  if (seconds === null || seconds === undefined || seconds === 0n || seconds === 0) return "—";
  return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19);
}

export function percent(decimal: string | number): string {
  return `${(Number(decimal) * 100).toFixed(1)}%`;
}
