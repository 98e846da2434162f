/**
 * The embedded host's entity store on SQLite (Node's built-in `node:sqlite`, so nothing native
 * has to be built offline).
 *
 * Versioning follows graph-node: every entity version is a row with the block range
 * `[__from, __to)` in which it was current (`__to` NULL = still current). An update closes the
 * current row and inserts a new one; a removal only closes it. This makes two things exact:
 * `revertTo(n)` deletes the rows that started above n and reopens the rows closed above n, and
 * a query at block n (`block: { number: n }`) reads the rows whose range contains n.
 *
 * Writes of the open block live in a per-block cache (so `get` sees them and repeated writes to
 * one entity cost one row) and are flushed in one SQLite transaction at `commitBlock`, together
 * with the block's hash — so the head and the entities can never disagree after a crash. While
 * catching up, `setBatching` lets several blocks share one transaction (one fsync), which is
 * what makes thousands of events per second possible; `flush()` makes everything durable.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Logger } from "../../../sdk/logger.ts";
import { silentLogger } from "../../../sdk/logger.ts";
import {
  bytesToHex,
  entityToRow,
  hexToBytes,
  idKey,
  idParam,
  rowToEntity,
  type SqlValue,
  sqlColumnType,
  storageScalar,
} from "./encoding.ts";
import { QueryError, StoreError } from "./errors.ts";
import { blockCondition, buildCollectionSql, type CollectionQuery, quoteIdent } from "./query.ts";
import {
  type EntityModel,
  entityModel,
  parseSubgraphSchema,
  type SubgraphSchema,
} from "./schema.ts";
import type { BlockPtr, EntityData, EntityValue, IndexingStore } from "./types.ts";

export interface BatchOptions {
  /** Blocks per SQLite transaction (1 = every commitBlock is durable at once). */
  maxBlocks: number;
  /** A batch is committed at the latest this long after its first block. */
  maxMs: number;
}

export interface SqliteStoreOptions {
  /** Database file (created if missing), or ":memory:". */
  path: string;
  /** The subgraph schema, as text or already parsed. */
  schema: string | SubgraphSchema;
  logger?: Logger;
  /** Initial batching; default one block per transaction. */
  batch?: BatchOptions;
  /**
   * SQLite `synchronous` level. FULL (default) fsyncs every commit: a committed block survives
   * power loss. NORMAL survives process crashes only, and is faster.
   */
  synchronous?: "FULL" | "NORMAL";
  /** Extra fields to index per entity type, beyond references and enums. */
  indexes?: Record<string, string[]>;
}

interface Table {
  model: EntityModel;
  current: StatementSync;
  close: StatementSync;
  insert: StatementSync;
}

interface Write {
  data: EntityData | null;
  row: SqlValue[] | null;
}

const SCHEMA_KEY = "schema";
/** How many committed entity versions `get` keeps in memory. */
const RECENT_ENTITIES = 20_000;

/** Field names worth an index besides references and enums: ids, days and block numbers. */
function defaultIndexed(field: string): boolean {
  return /Id$/.test(field) || ["date", "blockNumber", "postedAt"].includes(field);
}

export class SqliteStore implements IndexingStore {
  readonly schema: SubgraphSchema;
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly log: Logger;
  private readonly tables = new Map<string, Table>();
  private readonly queryCache = new Map<string, StatementSync>();
  private openBlock: BlockPtr | null = null;
  private writes = new Map<string, Map<string, Write>>();
  /**
   * Committed versions of recently written or read mutable entities (LRU). Handlers load the
   * same few entities for every event (Network, the day's stats, the job, the provider);
   * serving those from memory instead of a 40-column SELECT is most of the indexing speed.
   * Dropped wholesale on revert or a failed commit, so it can never outlive the rows.
   */
  private readonly recent = new Map<string, EntityData | null>();
  private headPtr: BlockPtr | null;
  private errors: boolean;
  private batch: BatchOptions;
  private txBlocks = 0;
  private txTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly stmts: {
    insertBlock: StatementSync;
    blockHash: StatementSync;
    blockAtOrBelow: StatementSync;
    blockByHash: StatementSync;
    insertError: StatementSync;
  };

  constructor(options: SqliteStoreOptions) {
    this.schema =
      typeof options.schema === "string" ? parseSubgraphSchema(options.schema) : options.schema;
    this.path = options.path;
    this.log = (options.logger ?? silentLogger).child("store");
    this.batch = options.batch ?? { maxBlocks: 1, maxMs: 0 };
    this.db = new DatabaseSync(options.path);
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous ?? "FULL"};
      PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;`);
    this.migrate(options.indexes ?? {});
    this.stmts = {
      insertBlock: this.db.prepare(
        "INSERT OR REPLACE INTO _blocks (number, hash, timestamp) VALUES (?, ?, ?)",
      ),
      blockHash: this.db.prepare("SELECT hash FROM _blocks WHERE number = ?"),
      blockAtOrBelow: this.db.prepare(
        "SELECT * FROM _blocks WHERE number <= ? ORDER BY number DESC LIMIT 1",
      ),
      blockByHash: this.db.prepare("SELECT * FROM _blocks WHERE hash = ?"),
      insertError: this.db.prepare(
        "INSERT INTO _errors (block_number, block_hash, message, created_at) VALUES (?, ?, ?, ?)",
      ),
    };
    this.headPtr = this.loadHead();
    this.errors = this.db.prepare("SELECT count(*) AS n FROM _errors").get()?.n !== 0;
    for (const model of this.schema.entities.values())
      this.tables.set(model.name, this.prepare(model));
    this.log.debug("store opened", { path: this.path, head: this.headPtr?.number ?? null });
  }

  private migrate(extraIndexes: Record<string, string[]>): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS _blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL,
        timestamp INTEGER);
      CREATE INDEX IF NOT EXISTS _blocks_hash ON _blocks (hash);
      CREATE TABLE IF NOT EXISTS _errors (id INTEGER PRIMARY KEY, block_number INTEGER NOT NULL,
        block_hash TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL);`);
    const stored = this.db.prepare("SELECT value FROM _meta WHERE key = ?").get(SCHEMA_KEY)
      ?.value as string | undefined;
    if (stored !== undefined) {
      if (stored !== this.schema.source)
        throw new StoreError(
          "store-schema-changed",
          `${this.path} was created for a different schema; delete it to re-index from scratch`,
        );
      return;
    }
    this.db.exec("BEGIN");
    try {
      for (const e of this.schema.entities.values())
        this.createTable(e, extraIndexes[e.name] ?? []);
      this.db
        .prepare("INSERT INTO _meta (key, value) VALUES (?, ?)")
        .run(SCHEMA_KEY, this.schema.source);
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  private createTable(e: EntityModel, extra: string[]): void {
    const t = quoteIdent(e.name);
    const cols = e.stored.map(
      (f) =>
        `${quoteIdent(f.name)} ${sqlColumnType(storageScalar(this.schema, f), f.list)}${f.name === "id" ? " NOT NULL" : ""}`,
    );
    this.db.exec(
      `CREATE TABLE ${t} (__vid INTEGER PRIMARY KEY, __from INTEGER NOT NULL, __to INTEGER, ${cols.join(", ")})`,
    );
    // Immutable entities never get a second version, so their id is simply unique.
    if (e.immutable)
      this.db.exec(`CREATE UNIQUE INDEX ${quoteIdent(`${e.name}__id`)} ON ${t} (id)`);
    else {
      this.db.exec(`CREATE INDEX ${quoteIdent(`${e.name}__id`)} ON ${t} (id, __to)`);
      this.db.exec(
        `CREATE UNIQUE INDEX ${quoteIdent(`${e.name}__current`)} ON ${t} (id) WHERE __to IS NULL`,
      );
    }
    for (const f of e.stored) {
      if (f.name === "id" || f.list) continue;
      if (f.kind === "scalar" && !defaultIndexed(f.name) && !extra.includes(f.name)) continue;
      this.db.exec(
        `CREATE INDEX ${quoteIdent(`${e.name}_${f.name}`)} ON ${t} (${quoteIdent(f.name)}, id) WHERE __to IS NULL`,
      );
    }
  }

  private prepare(model: EntityModel): Table {
    const t = quoteIdent(model.name);
    const cols = model.stored.map((f) => quoteIdent(f.name));
    return {
      model,
      current: this.db.prepare(`SELECT * FROM ${t} WHERE id = ? AND __to IS NULL`),
      close: this.db.prepare(`UPDATE ${t} SET __to = ? WHERE id = ? AND __to IS NULL`),
      insert: this.db.prepare(
        `INSERT INTO ${t} (__from, ${cols.join(", ")}) VALUES (?${", ?".repeat(cols.length)})`,
      ),
    };
  }

  private table(entityType: string): Table {
    const t = this.tables.get(entityType);
    if (!t) throw new StoreError("store-unknown-entity", `unknown entity type ${entityType}`);
    return t;
  }

  private loadHead(): BlockPtr | null {
    const row = this.db.prepare("SELECT * FROM _blocks ORDER BY number DESC LIMIT 1").get();
    return row ? toBlockPtr(row) : null;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError("store-closed", "the store is closed");
  }

  private requireBlock(action: string): BlockPtr {
    if (!this.openBlock)
      throw new StoreError("store-no-open-block", `${action} outside beginBlock/commitBlock`);
    return this.openBlock;
  }

  // ------------------------------------------------------------------ EntityStore

  private normalizeKey(model: EntityModel, id: string): string {
    return model.idType === "Bytes" ? id.toLowerCase() : id;
  }

  get(entityType: string, id: string): EntityData | null {
    const t = this.table(entityType);
    const key = this.normalizeKey(t.model, id);
    const cached = this.writes.get(entityType)?.get(key);
    if (cached) return cached.data === null ? null : new Map(cached.data);
    if (t.model.immutable) return this.readCurrent(t, key);
    const recentKey = `${entityType}\u0000${key}`;
    const hit = this.recent.get(recentKey);
    if (hit !== undefined) {
      this.recent.delete(recentKey);
      this.recent.set(recentKey, hit);
      return hit === null ? null : new Map(hit);
    }
    const data = this.readCurrent(t, key);
    if (data) this.remember(recentKey, data);
    return data === null ? null : new Map(data);
  }

  private remember(recentKey: string, data: EntityData | null): void {
    this.recent.delete(recentKey);
    this.recent.set(recentKey, data);
    if (this.recent.size > RECENT_ENTITIES) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private readCurrent(t: Table, key: string): EntityData | null {
    this.assertOpen();
    const row = t.current.get(idParam(t.model, key)) as Record<string, SqlValue> | undefined;
    return row ? rowToEntity(this.schema, t.model, row) : null;
  }

  getInBlock(entityType: string, id: string): EntityData | null {
    const t = this.table(entityType);
    const cached = this.writes.get(entityType)?.get(this.normalizeKey(t.model, id));
    return cached?.data ? new Map(cached.data) : null;
  }

  set(entityType: string, id: string, data: EntityData): void {
    this.requireBlock("set");
    const t = this.table(entityType);
    const key = this.normalizeKey(t.model, id);
    const idValue = data.get("id");
    const full = new Map(data);
    if (idValue === undefined || idValue.kind === "null")
      full.set("id", idEntityValue(t.model, key));
    else if (idKey(idValue).toLowerCase() !== key.toLowerCase())
      throw new StoreError(
        "store-id-mismatch",
        `${entityType} set with id ${id} but its id field is ${idKey(idValue)}`,
      );
    const row = entityToRow(this.schema, t.model, full);
    let writes = this.writes.get(entityType);
    if (!writes) {
      writes = new Map();
      this.writes.set(entityType, writes);
    }
    if (t.model.immutable && !writes.has(key) && this.readCurrent(t, key) !== null)
      throw new StoreError(
        "store-immutable",
        `${entityType} ${id} is immutable and already exists; it cannot be updated`,
      );
    writes.set(key, { data: full, row });
  }

  remove(entityType: string, id: string): void {
    this.requireBlock("remove");
    const t = this.table(entityType);
    if (t.model.immutable)
      throw new StoreError(
        "store-immutable",
        `${entityType} is immutable; ${id} cannot be removed`,
      );
    const key = this.normalizeKey(t.model, id);
    let writes = this.writes.get(entityType);
    if (!writes) {
      writes = new Map();
      this.writes.set(entityType, writes);
    }
    writes.set(key, { data: null, row: null });
  }

  loadRelated(derivedType: string, derivedField: string, id: string): EntityData[] {
    const t = this.table(derivedType);
    const field = t.model.fieldMap.get(derivedField);
    if (field?.kind !== "entity" || field.derivedFrom !== undefined)
      throw new StoreError(
        "store-unknown-field",
        `${derivedType}.${derivedField} is not a stored reference`,
      );
    const target = entityModel(this.schema, field.type);
    const targetKey = this.normalizeKey(target, id);
    const found = new Map<string, EntityData>();
    for (const data of this.findMany({
      entity: derivedType,
      parentRef: { field: derivedField, id: targetKey },
      first: Number.MAX_SAFE_INTEGER,
      skip: 0,
    }))
      found.set(idKey(data.get("id") as EntityValue), data);
    for (const [key, w] of this.writes.get(derivedType) ?? []) {
      found.delete(key);
      if (w.data && references(w.data.get(derivedField), targetKey)) found.set(key, w.data);
    }
    return [...found.values()].map((d) => new Map(d));
  }

  // ---------------------------------------------------------------- IndexingStore

  beginBlock(block: BlockPtr): void {
    this.assertOpen();
    if (this.openBlock)
      throw new StoreError("store-block-open", `block ${this.openBlock.number} is still open`);
    if (this.headPtr && block.number <= this.headPtr.number)
      throw new StoreError(
        "store-block-order",
        `block ${block.number} is not above the head ${this.headPtr.number}; revertTo first`,
      );
    this.openBlock = { ...block, hash: block.hash.toLowerCase() };
    this.writes = new Map();
  }

  commitBlock(): void {
    const block = this.requireBlock("commitBlock");
    if (this.txBlocks === 0) this.db.exec("BEGIN");
    try {
      for (const [type, writes] of this.writes) {
        const t = this.table(type);
        for (const [key, w] of writes) {
          // A new immutable entity has no current row to close (checked at set()).
          if (!t.model.immutable) t.close.run(block.number, idParam(t.model, key));
          if (w.row) t.insert.run(block.number, ...w.row);
        }
      }
      this.stmts.insertBlock.run(block.number, block.hash, block.timestamp ?? null);
    } catch (err) {
      // A failed flush must not leave half a block: drop the whole open transaction.
      this.db.exec("ROLLBACK");
      this.txBlocks = 0;
      this.clearTimer();
      this.recent.clear();
      this.headPtr = this.loadHead();
      this.openBlock = null;
      this.writes = new Map();
      throw new StoreError("store-write-failed", `could not write block ${block.number}`, {
        cause: err,
      });
    }
    for (const [type, writes] of this.writes) {
      if (this.table(type).model.immutable) continue;
      for (const [key, w] of writes) this.remember(`${type}\u0000${key}`, w.data);
    }
    this.txBlocks += 1;
    this.headPtr = block;
    this.openBlock = null;
    this.writes = new Map();
    if (this.txBlocks >= this.batch.maxBlocks) this.flush();
    else if (!this.txTimer && this.batch.maxMs > 0) {
      this.txTimer = setTimeout(() => {
        this.txTimer = null;
        if (!this.closed) this.flush();
      }, this.batch.maxMs);
      this.txTimer.unref();
    }
  }

  abortBlock(): void {
    this.openBlock = null;
    this.writes = new Map();
  }

  head(): BlockPtr | null {
    return this.headPtr ? { ...this.headPtr } : null;
  }

  blockHash(number: number): string | null {
    this.assertOpen();
    const row = this.stmts.blockHash.get(number);
    return row ? (row.hash as string) : null;
  }

  revertTo(number: number): void {
    this.assertOpen();
    if (this.openBlock)
      throw new StoreError("store-block-open", "cannot revert while a block is open");
    this.flush();
    this.recent.clear();
    this.db.exec("BEGIN");
    try {
      for (const t of this.tables.values()) {
        const name = quoteIdent(t.model.name);
        this.db.prepare(`DELETE FROM ${name} WHERE __from > ?`).run(number);
        this.db.prepare(`UPDATE ${name} SET __to = NULL WHERE __to > ?`).run(number);
      }
      this.db.prepare("DELETE FROM _blocks WHERE number > ?").run(number);
      this.db.prepare("DELETE FROM _errors WHERE block_number > ?").run(number);
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw new StoreError("store-write-failed", `could not revert to block ${number}`, {
        cause: err,
      });
    }
    this.headPtr = this.loadHead();
    this.errors = this.db.prepare("SELECT count(*) AS n FROM _errors").get()?.n !== 0;
    this.log.info("reverted", { to: number, head: this.headPtr?.number ?? null });
  }

  recordIndexingError(block: BlockPtr, message: string): void {
    this.assertOpen();
    this.flush();
    this.stmts.insertError.run(block.number, block.hash.toLowerCase(), message, Date.now());
    this.errors = true;
  }

  hasIndexingErrors(): boolean {
    return this.errors;
  }

  close(): void {
    if (this.closed) return;
    this.abortBlock();
    this.flush();
    this.closed = true;
    this.db.close();
  }

  // ------------------------------------------------------------------ batching

  /** Changes how many blocks share a transaction (commits what is pending first). */
  setBatching(batch: BatchOptions): void {
    if (!(batch.maxBlocks >= 1) || !(batch.maxMs >= 0))
      throw new StoreError("store-bad-option", "batch.maxBlocks must be >= 1 and maxMs >= 0");
    this.flush();
    this.batch = { ...batch };
  }

  /** Commits the pending batch, if any: every committed block is then durable. */
  flush(): void {
    this.clearTimer();
    if (this.txBlocks === 0 || this.closed) return;
    try {
      this.db.exec("COMMIT");
    } catch (err) {
      // The batch is lost as a whole (e.g. disk full): memory must not claim otherwise.
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      this.recent.clear();
      this.headPtr = this.loadHead();
      throw new StoreError("store-write-failed", "could not commit the pending blocks", {
        cause: err,
      });
    } finally {
      this.txBlocks = 0;
    }
  }

  private clearTimer(): void {
    if (this.txTimer) clearTimeout(this.txTimer);
    this.txTimer = null;
  }

  // ------------------------------------------------------------------- queries

  /** One entity at a block (or the latest state); never sees the open block's writes. */
  findOne(entityType: string, id: string, block?: number): EntityData | null {
    this.assertOpen();
    const t = this.table(entityType);
    const key = this.normalizeKey(t.model, id);
    let param: SqlValue;
    try {
      param = idParam(t.model, key);
    } catch (err) {
      throw new QueryError(
        "query-bad-value",
        `${entityType} id ${JSON.stringify(id)}: ${(err as Error).message}`,
      );
    }
    if (block === undefined) return this.readCurrent(t, key);
    const row = this.statement(
      `SELECT * FROM ${quoteIdent(entityType)} t WHERE id = ? AND ${blockCondition("t", block)}`,
    ).get(param) as Record<string, SqlValue> | undefined;
    return row ? rowToEntity(this.schema, t.model, row) : null;
  }

  /** A collection query in graph-node's vocabulary (see query.ts). */
  findMany(query: CollectionQuery): EntityData[] {
    this.assertOpen();
    const t = this.table(query.entity);
    const { sql, params } = buildCollectionSql(this.schema, query);
    const rows = this.statement(sql).all(...params) as Record<string, SqlValue>[];
    return rows.map((row) => rowToEntity(this.schema, t.model, row));
  }

  /**
   * A prepared statement for query SQL, reused: a nested field resolves with the same SQL for
   * every parent row, and preparing costs more than running a small indexed query.
   */
  private statement(sql: string): StatementSync {
    let stmt = this.queryCache.get(sql);
    if (stmt) return stmt;
    stmt = this.db.prepare(sql);
    if (this.queryCache.size >= 500) this.queryCache.clear();
    this.queryCache.set(sql, stmt);
    return stmt;
  }

  /** The indexed block with this number, or the closest one below it. */
  blockAtOrBelow(number: number): BlockPtr | null {
    const row = this.stmts.blockAtOrBelow.get(number);
    return row ? toBlockPtr(row) : null;
  }

  blockByHash(hash: string): BlockPtr | null {
    const row = this.stmts.blockByHash.get(hash.toLowerCase());
    return row ? toBlockPtr(row) : null;
  }

  /** Recorded indexing errors, oldest first. */
  indexingErrors(): { block: BlockPtr; message: string }[] {
    return this.db
      .prepare("SELECT * FROM _errors ORDER BY id")
      .all()
      .map((r) => ({
        block: { number: Number(r.block_number), hash: String(r.block_hash) },
        message: String(r.message),
      }));
  }

  /** Rows per entity table (all versions), for diagnostics and benchmarks. */
  versionCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.tables.keys())
      out[name] = Number(this.db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(name)}`).get()?.n);
    return out;
  }
}

function toBlockPtr(row: Record<string, unknown>): BlockPtr {
  const ptr: BlockPtr = { number: Number(row.number), hash: String(row.hash) };
  if (row.timestamp !== null && row.timestamp !== undefined) ptr.timestamp = Number(row.timestamp);
  return ptr;
}

function idEntityValue(model: EntityModel, key: string): EntityValue {
  if (model.idType === "Bytes") return { kind: "bytes", value: hexToBytes(key) };
  if (model.idType === "Int8") return { kind: "int8", value: BigInt(key) };
  return { kind: "string", value: key };
}

function references(value: EntityValue | undefined, key: string): boolean {
  if (!value) return false;
  if (value.kind === "array") return value.value.some((v) => references(v, key));
  if (value.kind === "bytes") return bytesToHex(value.value) === key;
  if (value.kind === "string") return value.value === key;
  return false;
}

/** Opens (or creates) a store: `openSqliteStore({ path, schema })`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
