/**
 * Shared by the store, GraphQL and server tests: a small schema with every kind of field the
 * host supports, and helpers to build entity values without the mapping runtime.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EntityData, EntityValue } from "../../subgraph-host/src/store/index.ts";

export const TEST_SCHEMA = `
enum Color { Red Green Blue }

type Owner @entity(immutable: false) {
  id: Bytes!
  name: String!
  score: Int!
  items: [Item!]! @derivedFrom(field: "owner")
}

type Item @entity(immutable: false) {
  id: ID!
  owner: Owner!
  label: String!
  amount: BigInt!
  ratio: BigDecimal
  count: Int!
  color: Color!
  active: Boolean!
  data: Bytes
  tags: [String!]!
  friends: [Owner!]!
  note: String
  logs: [Log!]! @derivedFrom(field: "item")
}

type Log @entity(immutable: true) {
  id: Bytes!
  item: Item!
  value: BigInt!
}
`;

export const s = (value: string): EntityValue => ({ kind: "string", value });
export const i = (value: number): EntityValue => ({ kind: "int", value });
export const big = (value: bigint): EntityValue => ({ kind: "bigint", value });
export const dec = (value: string): EntityValue => ({ kind: "bigdecimal", value });
export const bool = (value: boolean): EntityValue => ({ kind: "bool", value });
export const bytes = (hex: string): EntityValue => ({
  kind: "bytes",
  value: new Uint8Array(Buffer.from(hex.replace(/^0x/, ""), "hex")),
});
export const arr = (...value: EntityValue[]): EntityValue => ({ kind: "array", value });

export function entity(fields: Record<string, EntityValue>): EntityData {
  return new Map(Object.entries(fields));
}

export const OWNER_A = "0xaa00000000000000000000000000000000000001";
export const OWNER_B = "0xbb00000000000000000000000000000000000002";

export function owner(id: string, name: string, score: number): EntityData {
  return entity({ id: bytes(id), name: s(name), score: i(score) });
}

/** An Item of TEST_SCHEMA as plain values (`owner` and `friends` by Owner id). */
export interface ItemFields {
  owner: string;
  label: string;
  amount: bigint;
  ratio: string | null;
  count: number;
  color: string;
  active: boolean;
  data: string | null;
  tags: string[];
  friends: string[];
  note: string | null;
}

export function item(id: string, fields: Partial<ItemFields> = {}): EntityData {
  const data = entity({
    id: s(id),
    owner: bytes(fields.owner ?? OWNER_A),
    label: s(fields.label ?? `item ${id}`),
    amount: big(fields.amount ?? 0n),
    count: i(fields.count ?? 0),
    color: s(fields.color ?? "Red"),
    active: bool(fields.active ?? true),
    tags: arr(...(fields.tags ?? []).map(s)),
    friends: arr(...(fields.friends ?? []).map(bytes)),
  });
  if (fields.ratio) data.set("ratio", dec(fields.ratio));
  if (fields.data) data.set("data", bytes(fields.data));
  if (fields.note) data.set("note", s(fields.note));
  return data;
}

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function hash(n: number): string {
  return `0x${n.toString(16).padStart(64, "0")}`;
}
