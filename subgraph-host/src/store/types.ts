/**
 * The contract between the embedded host's two halves: the mapping runtime (runtime/,
 * indexer/) writes entities through `IndexingStore`; the SQLite store (store/) keeps them
 * durably and the GraphQL layer (graphql/) reads them back. Everything here is synchronous on
 * purpose: WASM host imports cannot await, and node:sqlite is synchronous.
 *
 * Values mirror graph-node's `store::Value`: the GraphQL schema decides which kind a field
 * has; the runtime converts the AssemblyScript `Value` enum into these.
 */

export type EntityValue =
  | { kind: "string"; value: string }
  | { kind: "int"; value: number }
  | { kind: "int8"; value: bigint }
  | { kind: "bigint"; value: bigint }
  /** A BigDecimal in graph-node's canonical decimal notation, e.g. "12.5" or "-0.001". */
  | { kind: "bigdecimal"; value: string }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "bool"; value: boolean }
  | { kind: "array"; value: EntityValue[] }
  | { kind: "null" };

/** One entity's fields, `id` included, in no particular order. */
export type EntityData = Map<string, EntityValue>;

/** A block as the host sees it. Hashes are 0x-prefixed lower-case hex. */
export interface BlockPtr {
  number: number;
  hash: string;
  /** Unix seconds; present for indexed blocks. */
  timestamp?: number;
}

/** What mappings may do while one block is being processed. */
export interface EntityStore {
  /** The current version of an entity, including writes made earlier in the open block. */
  get(entityType: string, id: string): EntityData | null;
  /** Like get, but only if the entity was written in the open block (graph-ts `getInBlock`). */
  getInBlock(entityType: string, id: string): EntityData | null;
  /** Creates or replaces an entity (graph-node semantics: the whole entity is given). */
  set(entityType: string, id: string, data: EntityData): void;
  remove(entityType: string, id: string): void;
  /**
   * Entities of `derivedType` whose field `derivedField` references `id` (graph-ts
   * `loadRelated` for `@derivedFrom` fields).
   */
  loadRelated(derivedType: string, derivedField: string, id: string): EntityData[];
}

/** The indexer's view: blocks are applied atomically and can be rolled back. */
export interface IndexingStore extends EntityStore {
  /** Opens a block: writes until commitBlock/abortBlock belong to it. */
  beginBlock(block: BlockPtr): void;
  /** Atomically persists the open block's writes and makes it the head. */
  commitBlock(): void;
  /** Drops the open block's writes (a handler failed). */
  abortBlock(): void;
  /** The last committed block, or null before the first one. */
  head(): BlockPtr | null;
  /** The hash recorded for an indexed block number (for reorg detection), or null. */
  blockHash(number: number): string | null;
  /** Undoes every block above `number` (a rewind or reorg); the head becomes that block. */
  revertTo(number: number): void;
  /** Records a deterministic indexing failure; `_meta.hasIndexingErrors` reports it. */
  recordIndexingError(block: BlockPtr, message: string): void;
  hasIndexingErrors(): boolean;
  close(): void;
}
