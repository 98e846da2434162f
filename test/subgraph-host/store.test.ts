import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import {
  decodeBigDecimal,
  decodeBigInt,
  type EntityData,
  encodeBigDecimal,
  encodeBigInt,
  openSqliteStore,
  type SqliteStore,
  StoreError,
  toPlain,
} from "../../subgraph-host/src/store/index.ts";
import {
  big,
  bytes,
  hash,
  i,
  item,
  OWNER_A,
  OWNER_B,
  owner,
  s,
  TEST_SCHEMA,
  tempDir,
} from "./store-fixtures.ts";

function plain(data: EntityData | null): Record<string, unknown> | null {
  if (!data) return null;
  return Object.fromEntries([...data].map(([k, v]) => [k, toPlain(v)]));
}

/** Every current entity of the test schema, as plain objects (what revert must restore). */
function dump(store: SqliteStore, block?: number): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const entity of ["Owner", "Item", "Log"])
    out[entity] = store.findMany({ entity, first: 10_000, skip: 0, block }).map(plain);
  return out;
}

describe("SqliteStore encodings", () => {
  it("orders BigInt encodings exactly like the numbers, negatives and uint256 included", () => {
    const values = [0n, 1n, -1n, 9n, 10n, -10n, 2n ** 255n, -(2n ** 200n), 123456789n, -99n];
    const byText = [...values].sort((a, b) =>
      encodeBigInt(a) < encodeBigInt(b) ? -1 : encodeBigInt(a) > encodeBigInt(b) ? 1 : 0,
    );
    expect(byText).to.deep.equal([...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const v of values) expect(decodeBigInt(encodeBigInt(v))).to.equal(v);
  });

  it("orders BigDecimal encodings by value and decodes them to canonical text", () => {
    const values = [
      "-1.55",
      "-1.5",
      "-0.001",
      "0",
      "0.001",
      "0.5",
      "1",
      "1.5",
      "1.55",
      "10",
      "100.25",
    ];
    const shuffled = [...values].reverse();
    shuffled.sort((a, b) => (encodeBigDecimal(a) < encodeBigDecimal(b) ? -1 : 1));
    expect(shuffled).to.deep.equal(values);
    expect(decodeBigDecimal(encodeBigDecimal("012.500"))).to.equal("12.5");
    expect(decodeBigDecimal(encodeBigDecimal("-0.00100"))).to.equal("-0.001");
    expect(decodeBigDecimal(encodeBigDecimal("1e3"))).to.equal("1000");
    expect(encodeBigDecimal("2.50")).to.equal(encodeBigDecimal("2.5"));
  });
});

describe("SqliteStore#set/get/remove", () => {
  let store: SqliteStore;
  let cleanup: () => void;

  beforeEach(() => {
    const tmp = tempDir("conun-store-");
    cleanup = tmp.cleanup;
    store = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  it("shows writes of the open block to get but not to queries until the block commits", () => {
    store.beginBlock({ number: 1, hash: hash(1) });
    store.set("Owner", OWNER_A, owner(OWNER_A, "alice", 1));
    store.set("Item", "1", item("1", { amount: 5n }));
    expect(plain(store.get("Owner", OWNER_A))).to.deep.include({ name: "alice", score: 1 });
    expect(plain(store.getInBlock("Item", "1"))).to.deep.include({ amount: 5n });
    expect(store.findOne("Owner", OWNER_A)).to.equal(null);
    store.commitBlock();
    expect(plain(store.findOne("Owner", OWNER_A))).to.deep.include({ id: OWNER_A, name: "alice" });
    expect(store.head()).to.deep.equal({ number: 1, hash: hash(1) });
    store.beginBlock({ number: 2, hash: hash(2) });
    expect(store.getInBlock("Item", "1"), "getInBlock sees only the open block").to.equal(null);
    expect(plain(store.get("Item", "1"))).to.deep.include({ amount: 5n });
  });

  it("keeps every field kind intact through a round trip", () => {
    store.beginBlock({ number: 1, hash: hash(1) });
    const data = item("x", {
      amount: -(2n ** 200n),
      ratio: "0.125",
      count: -7,
      color: "Blue",
      active: false,
      data: "0x00ff10",
      tags: ["a", "b"],
      friends: [OWNER_A, OWNER_B],
      note: "hello",
    });
    store.set("Item", "x", data);
    store.commitBlock();
    expect(plain(store.findOne("Item", "x"))).to.deep.equal(plain(data));
  });

  it("removes an entity and drops the writes of an aborted block", () => {
    store.beginBlock({ number: 1, hash: hash(1) });
    store.set("Owner", OWNER_A, owner(OWNER_A, "alice", 1));
    store.commitBlock();
    store.beginBlock({ number: 2, hash: hash(2) });
    store.remove("Owner", OWNER_A);
    expect(store.get("Owner", OWNER_A)).to.equal(null);
    store.abortBlock();
    expect(store.get("Owner", OWNER_A)).to.not.equal(null);
    store.beginBlock({ number: 2, hash: hash(2) });
    store.remove("Owner", OWNER_A);
    store.commitBlock();
    expect(store.findOne("Owner", OWNER_A)).to.equal(null);
    expect(store.findOne("Owner", OWNER_A, 1), "still visible at block 1").to.not.equal(null);
  });

  it("rejects values of the wrong kind, missing non-null fields and writes outside a block", () => {
    expect(() => store.set("Owner", OWNER_A, owner(OWNER_A, "a", 1))).to.throw(
      StoreError,
      /outside beginBlock/,
    );
    store.beginBlock({ number: 1, hash: hash(1) });
    const wrong = owner(OWNER_A, "a", 1);
    wrong.set("score", s("ten"));
    expect(() => store.set("Owner", OWNER_A, wrong)).to.throw(StoreError, /Owner.score is Int/);
    const missing = owner(OWNER_A, "a", 1);
    missing.delete("name");
    expect(() => store.set("Owner", OWNER_A, missing)).to.throw(StoreError, /non-nullable/);
    expect(() => store.set("Nope", "1", missing)).to.throw(StoreError, /unknown entity type/);
  });

  it("refuses to update or remove an immutable entity written in an earlier block", () => {
    const log = new Map([
      ["id", bytes("0x01")],
      ["item", s("1")],
      ["value", big(1n)],
    ]);
    store.beginBlock({ number: 1, hash: hash(1) });
    store.set("Log", "0x01", log);
    store.set("Log", "0x01", log);
    store.commitBlock();
    store.beginBlock({ number: 2, hash: hash(2) });
    expect(() => store.set("Log", "0x01", log)).to.throw(StoreError, /immutable/);
    expect(() => store.remove("Log", "0x01")).to.throw(StoreError, /immutable/);
  });

  it("loads related entities including the open block's writes", () => {
    store.beginBlock({ number: 1, hash: hash(1) });
    store.set("Owner", OWNER_A, owner(OWNER_A, "alice", 1));
    store.set("Item", "1", item("1"));
    store.set("Item", "2", item("2"));
    store.commitBlock();
    store.beginBlock({ number: 2, hash: hash(2) });
    store.set("Item", "2", item("2", { owner: OWNER_B }));
    store.set("Item", "3", item("3"));
    const ids = store
      .loadRelated("Item", "owner", OWNER_A)
      .map((d) => toPlain(d.get("id") ?? { kind: "null" }));
    expect(ids.sort()).to.deep.equal(["1", "3"]);
  });

  it("rejects a block that is not above the head", () => {
    store.beginBlock({ number: 5, hash: hash(5) });
    store.commitBlock();
    expect(() => store.beginBlock({ number: 5, hash: hash(5) })).to.throw(StoreError, /not above/);
  });
});

describe("SqliteStore#revertTo", () => {
  it("restores exactly the state after the target block, then indexes on from there", () => {
    const tmp = tempDir("conun-store-");
    const store = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
    try {
      const snapshots: Record<number, Record<string, unknown[]>> = {};
      const steps: ((n: number) => void)[] = [
        () => {
          store.set("Owner", OWNER_A, owner(OWNER_A, "alice", 1));
          store.set("Item", "1", item("1", { amount: 10n }));
        },
        () => {
          store.set("Item", "1", item("1", { amount: 20n }));
          store.set("Owner", OWNER_B, owner(OWNER_B, "bob", 2));
        },
        () => {
          store.remove("Owner", OWNER_A);
          store.set("Item", "2", item("2", { owner: OWNER_B }));
          store.set(
            "Log",
            "0x0a",
            new Map([
              ["item", s("2")],
              ["value", big(3n)],
            ]),
          );
        },
        () => {
          store.set("Item", "1", item("1", { amount: 30n }));
          store.set("Item", "1", item("1", { amount: 40n }));
          store.remove("Item", "2");
        },
      ];
      steps.forEach((step, index) => {
        const n = index + 1;
        store.beginBlock({ number: n, hash: hash(n), timestamp: 1000 + n });
        step(n);
        store.commitBlock();
        snapshots[n] = dump(store);
      });
      for (const n of [1, 2, 3, 4])
        expect(dump(store, n), `time-travel to block ${n}`).to.deep.equal(snapshots[n]);
      store.recordIndexingError({ number: 4, hash: hash(4) }, "handler failed");
      expect(store.hasIndexingErrors()).to.equal(true);

      expect(plain(store.get("Item", "1"))).to.deep.include({ amount: 40n });
      store.revertTo(2);
      expect(dump(store)).to.deep.equal(snapshots[2]);
      expect(plain(store.get("Item", "1")), "get forgets reverted versions").to.deep.include({
        amount: 20n,
      });
      expect(store.get("Item", "2"), "and entities created after the target").to.equal(null);
      expect(store.head()).to.deep.equal({ number: 2, hash: hash(2), timestamp: 1002 });
      expect(store.blockHash(3)).to.equal(null);
      expect(store.hasIndexingErrors(), "errors of reverted blocks go").to.equal(false);

      store.beginBlock({ number: 3, hash: hash(33) });
      store.set("Owner", OWNER_A, owner(OWNER_A, "alice again", 9));
      store.commitBlock();
      expect(store.blockHash(3)).to.equal(hash(33));
      expect(plain(store.findOne("Owner", OWNER_A))).to.deep.include({ name: "alice again" });
      expect(dump(store, 2)).to.deep.equal(snapshots[2]);
    } finally {
      store.close();
      tmp.cleanup();
    }
  });
});

describe("SqliteStore durability", () => {
  it("reopens with the same head, block hashes, entities and errors", () => {
    const tmp = tempDir("conun-store-");
    const path = join(tmp.dir, "db.sqlite");
    try {
      const first = openSqliteStore({ path, schema: TEST_SCHEMA });
      first.beginBlock({ number: 7, hash: hash(7), timestamp: 70 });
      first.set("Owner", OWNER_A, owner(OWNER_A, "alice", 1));
      first.commitBlock();
      first.recordIndexingError({ number: 7, hash: hash(7) }, "boom");
      first.close();
      const second = openSqliteStore({ path, schema: TEST_SCHEMA });
      expect(second.head()).to.deep.equal({ number: 7, hash: hash(7), timestamp: 70 });
      expect(second.blockHash(7)).to.equal(hash(7));
      expect(second.hasIndexingErrors()).to.equal(true);
      expect(plain(second.get("Owner", OWNER_A))).to.deep.include({ name: "alice" });
      second.beginBlock({ number: 8, hash: hash(8) });
      second.set("Owner", OWNER_A, owner(OWNER_A, "alice", 2));
      second.commitBlock();
      second.close();
      expect(() => openSqliteStore({ path, schema: `${TEST_SCHEMA}\n# changed` })).to.throw(
        StoreError,
        /different schema/,
      );
    } finally {
      tmp.cleanup();
    }
  });

  it("loses only the unflushed batch when the process dies, never half a block", () => {
    const tmp = tempDir("conun-store-");
    const path = join(tmp.dir, "db.sqlite");
    const storeModule = new URL("../../subgraph-host/src/store/index.ts", import.meta.url).href;
    // A separate process that commits 5 durable blocks, then 3 more in an open batch, and dies
    // without flushing (process.exit skips close()).
    const script = `
      import { openSqliteStore } from ${JSON.stringify(storeModule)};
      const schema = ${JSON.stringify(TEST_SCHEMA)};
      const store = openSqliteStore({ path: ${JSON.stringify(path)}, schema });
      const owner = (n) => new Map([["id", { kind: "bytes", value: new Uint8Array([n]) }],
        ["name", { kind: "string", value: "o" + n }], ["score", { kind: "int", value: n }]]);
      for (let n = 1; n <= 8; n++) {
        if (n === 6) store.setBatching({ maxBlocks: 100, maxMs: 60000 });
        store.beginBlock({ number: n, hash: "0x" + n.toString(16).padStart(64, "0") });
        store.set("Owner", "0x0" + n, owner(n));
        store.commitBlock();
      }
      process.exit(0);
    `;
    try {
      execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", script], {
        stdio: "pipe",
        timeout: 20_000,
      });
      const store = openSqliteStore({ path, schema: TEST_SCHEMA });
      expect(store.head()?.number).to.equal(5);
      expect(store.findMany({ entity: "Owner", first: 100, skip: 0 })).to.have.length(5);
      store.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe("SqliteStore#setBatching", () => {
  it("commits several blocks per transaction and makes them durable on flush", () => {
    const tmp = tempDir("conun-store-");
    const path = join(tmp.dir, "db.sqlite");
    const store = openSqliteStore({ path, schema: TEST_SCHEMA });
    try {
      store.setBatching({ maxBlocks: 3, maxMs: 60_000 });
      for (let n = 1; n <= 4; n++) {
        store.beginBlock({ number: n, hash: hash(n) });
        store.set("Item", String(n), item(String(n), { count: n }));
        store.commitBlock();
      }
      // A second connection sees only committed transactions: blocks 1-3, not the pending 4.
      const reader = openSqliteStore({ path, schema: TEST_SCHEMA });
      expect(reader.head()?.number).to.equal(3);
      reader.close();
      expect(store.findOne("Item", "4"), "the writer's connection sees its batch").to.not.equal(
        null,
      );
      store.flush();
      const again = openSqliteStore({ path, schema: TEST_SCHEMA });
      expect(again.head()?.number).to.equal(4);
      expect(i(4)).to.deep.equal(again.findOne("Item", "4")?.get("count"));
      again.close();
    } finally {
      store.close();
      tmp.cleanup();
    }
  });
});
