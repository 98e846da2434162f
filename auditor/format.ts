// Formatting for the auditor's reports: token amounts with 18 decimals, unix times as UTC,
// plain (colourless) tables so the output reads the same in a terminal, a pipe or a file.
import Table from "cli-table3";
import { formatUnits } from "ethers";

export const TOKEN_SYMBOL = "CONUN";

/** An amount in token wei as "1234.5 CONUN" (ethers formatUnits, 18 decimals, exact). */
export function token(amount: bigint | null | undefined): string {
  if (amount === null || amount === undefined) return "—";
  return `${formatUnits(amount, 18)} ${TOKEN_SYMBOL}`;
}

/** A unix time (seconds) as "2024-10-01 12:00:00 UTC". */
export function time(seconds: bigint | number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms)) return String(seconds);
  return `${new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "")} UTC`;
}

/** A long hex string shortened for table cells (0x1234…abcd); addresses stay whole. */
export function hex(value: string | null | undefined, keep = 10): string {
  if (!value) return "—";
  if (value.length <= 2 + 40) return value;
  return `${value.slice(0, keep)}…${value.slice(-4)}`;
}

export function percent(decimal: string): string {
  const n = Number(decimal);
  return Number.isFinite(n) ? `${(n * 100).toFixed(2)}%` : decimal;
}

/** A bordered table, or "  none" when there are no rows. */
export function table(head: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return "  none";
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

/** Two-column "label  value" block, labels padded to one width. */
export function fields(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join("\n");
}

export function heading(text: string): string {
  return `\n${text}\n${"=".repeat(text.length)}`;
}

export function section(text: string): string {
  return `\n${text}\n${"-".repeat(text.length)}`;
}
