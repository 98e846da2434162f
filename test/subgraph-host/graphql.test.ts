import { join } from "node:path";
import { expect } from "chai";
import { ClientError, GraphQLClient } from "graphql-request";
import { type GraphqlServer, startGraphqlServer } from "../../subgraph-host/src/server.ts";
import { openSqliteStore, type SqliteStore } from "../../subgraph-host/src/store/index.ts";
import {
  big,
  hash,
  type ItemFields,
  item,
  OWNER_A,
  OWNER_B,
  owner,
  s,
  TEST_SCHEMA,
  tempDir,
} from "./store-fixtures.ts";

const OWNER_C = "0xcc00000000000000000000000000000000000003";
const OWNERS = [
  { id: OWNER_A, name: "alice", score: 3 },
  { id: OWNER_B, name: "Bob", score: 1 },
  { id: OWNER_C, name: "carol", score: 2 },
];

type ItemRow = { id: string } & ItemFields;

const E30 = 10n ** 30n;
/** The state after block 2 (block 1 had item 1 with amount 5 and no item 12). */
const ITEMS: ItemRow[] = [
  ["1", OWNER_A, "Alpha job", 7n, "0.5", 3, "Red", true, "0x00ff", ["x", "y"], [OWNER_B], "n1"],
  ["2", OWNER_A, "beta", 2n * E30, null, 1, "Green", false, null, ["y"], [], null],
  [
    "3",
    OWNER_B,
    "Gamma ray",
    -4n,
    "-1.25",
    8,
    "Blue",
    true,
    "0xabcdef",
    [],
    [OWNER_A, OWNER_C],
    null,
  ],
  ["4", OWNER_B, "delta", 0n, "10", 2, "Red", true, null, ["z"], [OWNER_C], "n4"],
  ["5", OWNER_C, "epsilon alpha", E30, "0.001", 5, "Green", false, "0x0000ff", ["x"], [], null],
  ["6", OWNER_C, "zeta", 15n, null, 0, "Blue", true, null, [], [OWNER_A], null],
  ["7", OWNER_A, "eta", 15n, "2", 9, "Red", false, null, ["x", "z"], [], "n7"],
  ["8", OWNER_B, "theta", 100n, "3.75", 4, "Green", true, "0xff", [], [], null],
  ["9", OWNER_C, "iota", 99n, null, 7, "Blue", true, null, ["y"], [OWNER_B], null],
  ["10", OWNER_A, "kappa", 1n, "0", 6, "Red", true, null, [], [], null],
  ["11", OWNER_B, "lambda", 3n * E30, "1.5", 10, "Green", false, null, [], [], null],
  ["12", OWNER_C, "mu", 42n, null, 11, "Blue", true, null, [], [], null],
].map(
  ([id, ownerId, label, amount, ratio, count, color, active, data, tags, friends, note]) =>
    ({
      id,
      owner: ownerId,
      label,
      amount,
      ratio,
      count,
      color,
      active,
      data,
      tags,
      friends,
      note,
    }) as ItemRow,
);

function fill(store: SqliteStore): void {
  store.beginBlock({ number: 1, hash: hash(1), timestamp: 1_700_000_001 });
  for (const o of OWNERS) store.set("Owner", o.id, owner(o.id, o.name, o.score));
  for (const it of ITEMS.filter((x) => x.id !== "12"))
    store.set("Item", it.id, item(it.id, { ...it, amount: it.id === "1" ? 5n : it.amount }));
  store.commitBlock();
  store.beginBlock({ number: 2, hash: hash(2), timestamp: 1_700_000_013 });
  for (const it of ITEMS.filter((x) => x.id === "1" || x.id === "12"))
    store.set("Item", it.id, item(it.id, it));
  for (let n = 0; n < 3; n++)
    store.set(
      "Log",
      `0x0${n}`,
      new Map([
        ["item", s(n === 2 ? "3" : "1")],
        ["value", big(BigInt(n * 10))],
      ]),
    );
  store.commitBlock();
}

const byId = (a: ItemRow, b: ItemRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

describe("GraphQL dialect over HTTP", () => {
  let store: SqliteStore;
  let server: GraphqlServer;
  let client: GraphQLClient;
  let cleanup: () => void;

  before(async () => {
    const tmp = tempDir("conun-gql-");
    cleanup = tmp.cleanup;
    store = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
    fill(store);
    server = await startGraphqlServer({
      store,
      schemaSource: TEST_SCHEMA,
      subgraphName: "test",
      deployment: "QmTestDeployment",
    });
    client = new GraphQLClient(server.url);
  });
  after(async () => {
    await server.close();
    store.close();
    cleanup();
  });

  async function itemIds(where: Record<string, unknown>): Promise<string[]> {
    const res = await client.request<{ items: { id: string }[] }>(
      "query ($where: Item_filter) { items(first: 1000, where: $where) { id } }",
      { where },
    );
    return ids(res.items);
  }

  async function expectError(query: string, pattern: RegExp, variables?: object): Promise<void> {
    try {
      await client.request(query, variables as Record<string, unknown>);
    } catch (err) {
      expect(err).to.be.instanceOf(ClientError);
      const messages = ((err as ClientError).response.errors ?? []).map((e) => e.message);
      expect(messages.join("\n")).to.match(pattern);
      return;
    }
    expect.fail(`expected an error matching ${pattern}`);
  }

  describe("Query#item", () => {
    it("serializes BigInt, BigDecimal and Bytes as strings, enums and lists as graph-node does", async () => {
      const res = await client.request<{ item: Record<string, unknown> }>(`{
        item(id: "3") { id label amount ratio count color active data tags note }
      }`);
      expect(res.item).to.deep.equal({
        id: "3",
        label: "Gamma ray",
        amount: "-4",
        ratio: "-1.25",
        count: 8,
        color: "Blue",
        active: true,
        data: "0xabcdef",
        tags: [],
        note: null,
      });
      const huge = await client.request<{ item: { amount: string } }>(
        '{ item(id: "11") { amount } }',
      );
      expect(huge.item.amount).to.equal((3n * E30).toString());
    });

    it("finds Bytes ids written in any case and returns null for a missing id", async () => {
      const res = await client.request<{ a: { name: string }; none: null }>(
        `{ a: owner(id: "${OWNER_A.toUpperCase().replace("0X", "0x")}") { id name } none: item(id: "nope") { id } }`,
      );
      expect(res.a).to.deep.equal({ id: OWNER_A, name: "alice" });
      expect(res.none).to.equal(null);
    });

    it("resolves references, stored reference lists and @derivedFrom fields with arguments", async () => {
      const res = await client.request<{
        item: { owner: { name: string }; friends: { id: string }[]; logs: { value: string }[] };
        owner: { items: { id: string; amount: string }[] };
      }>(`{
        item(id: "3") { owner { name } friends { id } logs { value } }
        owner(id: "${OWNER_A}") {
          items(first: 2, orderBy: amount, orderDirection: desc, where: { active: true }) { id amount }
        }
      }`);
      expect(res.item.owner.name).to.equal("Bob");
      expect(ids(res.item.friends)).to.deep.equal([OWNER_A, OWNER_C]);
      expect(res.item.logs).to.deep.equal([{ value: "20" }]);
      expect(res.owner.items).to.deep.equal([
        { id: "1", amount: "7" },
        { id: "10", amount: "1" },
      ]);
    });
  });

  describe("Query#items where", () => {
    const cases: [string, Record<string, unknown>, (r: ItemRow) => boolean][] = [
      ["equality", { color: "Red" }, (r) => r.color === "Red"],
      ["_not", { color_not: "Red" }, (r) => r.color !== "Red"],
      ["BigInt _gt across magnitudes", { amount_gt: "15" }, (r) => r.amount > 15n],
      ["BigInt _gte", { amount_gte: "15" }, (r) => r.amount >= 15n],
      ["BigInt _lt negative", { amount_lt: "0" }, (r) => r.amount < 0n],
      ["BigInt _lte", { amount_lte: "1" }, (r) => r.amount <= 1n],
      ["BigInt equality", { amount: E30.toString() }, (r) => r.amount === E30],
      ["Int _gt", { count_gt: 6 }, (r) => r.count > 6],
      ["Int _in", { count_in: [0, 3, 11] }, (r) => [0, 3, 11].includes(r.count)],
      ["_not_in", { color_not_in: ["Red", "Blue"] }, (r) => r.color === "Green"],
      ["empty _in", { id_in: [] }, () => false],
      ["Boolean", { active: false }, (r) => !r.active],
      ["BigDecimal _gt", { ratio_gt: "1.5" }, (r) => r.ratio !== null && Number(r.ratio) > 1.5],
      ["BigDecimal _lte", { ratio_lte: "0" }, (r) => r.ratio !== null && Number(r.ratio) <= 0],
      ["null equality", { note: null }, (r) => r.note === null],
      ["_not null", { ratio_not: null }, (r) => r.ratio !== null],
      ["String _contains", { label_contains: "alpha" }, (r) => r.label.includes("alpha")],
      [
        "String _contains_nocase",
        { label_contains_nocase: "ALPHA" },
        (r) => r.label.toLowerCase().includes("alpha"),
      ],
      ["String _not_contains", { label_not_contains: "a" }, (r) => !r.label.includes("a")],
      ["String _starts_with", { label_starts_with: "Gam" }, (r) => r.label.startsWith("Gam")],
      [
        "String _starts_with_nocase",
        { label_starts_with_nocase: "gam" },
        (r) => r.label.toLowerCase().startsWith("gam"),
      ],
      ["String _ends_with", { label_ends_with: "ta" }, (r) => r.label.endsWith("ta")],
      ["String _not_ends_with", { label_not_ends_with: "ta" }, (r) => !r.label.endsWith("ta")],
      ["String _gt", { label_gt: "theta" }, (r) => r.label > "theta"],
      ["Bytes equality", { data: "0xFF" }, (r) => r.data === "0xff"],
      ["Bytes _contains", { data_contains: "0x00ff" }, (r) => (r.data ?? "").includes("00ff")],
      [
        "Bytes _not_contains",
        { data_not_contains: "0xff" },
        (r) => r.data !== null && !r.data.includes("ff"),
      ],
      ["reference equality", { owner: OWNER_B }, (r) => r.owner === OWNER_B],
      ["reference _in", { owner_in: [OWNER_A, OWNER_C] }, (r) => r.owner !== OWNER_B],
      ["list equality", { tags: ["x", "y"] }, (r) => r.tags.join() === "x,y"],
      ["list _contains", { tags_contains: ["x"] }, (r) => r.tags.includes("x")],
      [
        "list _contains of several",
        { tags_contains: ["x", "z"] },
        (r) => r.tags.includes("x") && r.tags.includes("z"),
      ],
      ["list _not_contains", { tags_not_contains: ["y"] }, (r) => !r.tags.includes("y")],
      [
        "reference list _contains",
        { friends_contains: [OWNER_C] },
        (r) => r.friends.includes(OWNER_C),
      ],
      [
        "nested reference filter",
        { owner_: { score_gte: 2 } },
        (r) => r.owner === OWNER_A || r.owner === OWNER_C,
      ],
      [
        "nested filter on a reference list",
        { friends_: { name: "carol" } },
        (r) => r.friends.includes(OWNER_C),
      ],
      [
        "and",
        { and: [{ color: "Red" }, { amount_gt: "5" }] },
        (r) => r.color === "Red" && r.amount > 5n,
      ],
      [
        "or",
        { or: [{ color: "Blue" }, { count_lt: 2 }] },
        (r) => r.color === "Blue" || r.count < 2,
      ],
      [
        "combined fields and _id_in",
        { id_in: ["1", "2", "3", "4"], active: true },
        (r) => ["1", "2", "3", "4"].includes(r.id) && r.active,
      ],
    ];
    for (const [name, where, predicate] of cases) {
      it(`filters with ${name}`, async () => {
        const expected = ITEMS.filter(predicate)
          .sort(byId)
          .map((r) => r.id);
        expect(await itemIds(where)).to.deep.equal(expected);
      });
    }

    it("filters by _change_block: entities written at or after a block", async () => {
      expect(await itemIds({ _change_block: { number_gte: 2 } })).to.deep.equal(["1", "12"]);
      expect(await itemIds({ _change_block: { number_gte: 3 } })).to.deep.equal([]);
    });

    it("filters a collection by a @derivedFrom field's nested filter", async () => {
      const res = await client.request<{ owners: { id: string }[] }>(
        `{ owners(where: { items_: { amount_gt: "${E30}" } }) { id } }`,
      );
      expect(ids(res.owners)).to.deep.equal([OWNER_A, OWNER_B]);
    });
  });

  describe("Query#items order and pagination", () => {
    it("orders by id (text order) by default", async () => {
      expect(await itemIds({})).to.deep.equal(ITEMS.map((r) => r.id).sort());
    });

    it("orders BigInt values numerically in both directions, ties broken by id", async () => {
      const sorted = [...ITEMS].sort((a, b) =>
        a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : byId(a, b),
      );
      const asc = await client.request<{ items: { id: string }[] }>(
        "{ items(orderBy: amount, orderDirection: asc) { id } }",
      );
      expect(ids(asc.items)).to.deep.equal(sorted.map((r) => r.id));
      const desc = await client.request<{ items: { id: string }[] }>(
        "{ items(orderBy: amount, orderDirection: desc) { id } }",
      );
      expect(ids(desc.items)).to.deep.equal(sorted.reverse().map((r) => r.id));
    });

    it("orders by String and Int fields, and by a referenced entity's field", async () => {
      const byLabel = await client.request<{ items: { label: string }[] }>(
        "{ items(orderBy: label) { label } }",
      );
      expect(byLabel.items.map((r) => r.label)).to.deep.equal(ITEMS.map((r) => r.label).sort());
      const byCount = await client.request<{ items: { count: number }[] }>(
        "{ items(orderBy: count, orderDirection: desc) { count } }",
      );
      expect(byCount.items.map((r) => r.count)).to.deep.equal(
        ITEMS.map((r) => r.count).sort((a, b) => b - a),
      );
      const byOwner = await client.request<{ items: { owner: { score: number } }[] }>(
        "{ items(orderBy: owner__score) { owner { score } } }",
      );
      expect(byOwner.items.map((r) => r.owner.score)).to.deep.equal(
        ITEMS.map((r) => OWNERS.find((o) => o.id === r.owner)?.score).sort(),
      );
    });

    it("orders enums in declaration order, as Postgres enum types do", async () => {
      const res = await client.request<{ items: { color: string }[] }>(
        "{ items(orderBy: color) { color } }",
      );
      const order = ["Red", "Green", "Blue"];
      expect(res.items.map((r) => r.color)).to.deep.equal(
        ITEMS.map((r) => r.color).sort((x, y) => order.indexOf(x) - order.indexOf(y)),
      );
    });

    it("pages with first and skip", async () => {
      const all = ITEMS.map((r) => r.id).sort();
      const page = await client.request<{ items: { id: string }[] }>(
        "{ items(first: 5, skip: 5) { id } }",
      );
      expect(ids(page.items)).to.deep.equal(all.slice(5, 10));
      const beyond = await client.request<{ items: { id: string }[] }>(
        "{ items(skip: 100) { id } }",
      );
      expect(beyond.items).to.deep.equal([]);
      const nulls = await client.request<{ items: { id: string }[] }>(
        "{ items(first: null, skip: null) { id } }",
      );
      expect(ids(nulls.items), "null means the default").to.deep.equal(all);
    });

    it("rejects first above 1000 and a negative skip instead of truncating", async () => {
      await expectError(
        "{ items(first: 1001) { id } }",
        /`first` argument must be between 0 and 1000/,
      );
      await expectError("{ items(skip: -1) { id } }", /`skip` argument must be between 0/);
    });
  });

  describe("Query#_meta and time travel", () => {
    it("reports the head block, the deployment and indexing errors", async () => {
      const res = await client.request<{ _meta: unknown }>(
        "{ _meta { block { number hash timestamp } deployment hasIndexingErrors } }",
      );
      expect(res._meta).to.deep.equal({
        block: { number: 2, hash: hash(2), timestamp: 1_700_000_013 },
        deployment: "QmTestDeployment",
        hasIndexingErrors: false,
      });
    });

    it("reads the state at an earlier block by number or hash", async () => {
      const res = await client.request<{
        a: { amount: string };
        b: { amount: string };
        c: { id: string }[];
        d: { logs: unknown[] };
      }>(`{
        a: item(id: "1", block: { number: 1 }) { amount }
        b: item(id: "1", block: { hash: "${hash(2)}" }) { amount }
        c: items(block: { number: 1 }, where: { id_in: ["11", "12"] }) { id }
        d: item(id: "1", block: { number: 1 }) { logs { id } }
      }`);
      expect(res.a.amount).to.equal("5");
      expect(res.b.amount).to.equal("7");
      expect(ids(res.c)).to.deep.equal(["11"]);
      expect(res.d.logs, "nested fields read at the same block").to.deep.equal([]);
    });

    it("refuses blocks that are not indexed yet or unknown hashes", async () => {
      await expectError(
        '{ item(id: "1", block: { number: 3 }) { id } }',
        /only indexed up to block number 2/,
      );
      await expectError(`{ items(block: { hash: "${hash(99)}" }) { id } }`, /no block with hash/);
      await expectError("{ items(block: { number_gte: 5 }) { id } }", /not yet available/);
    });
  });

  describe("errors", () => {
    it("reports unknown fields, unknown filters and syntax errors as GraphQL errors", async () => {
      await expectError("{ items { id nope } }", /Cannot query field "nope" on type "Item"/);
      await expectError("{ items(where: { nope: 1 }) { id } }", /"nope" is not defined/);
      await expectError("{ items { id ", /Syntax Error/);
      await expectError('{ items(where: { data: "0xabc" }) { id } }', /Bytes must be 0x-prefixed/);
      await expectError('{ items(where: { amount_gt: "ten" }) { id } }', /BigInt cannot represent/);
    });

    it("rejects a malformed reference value rather than matching nothing silently", async () => {
      await expectError('{ items(where: { owner: "not-hex" }) { id } }', /not 0x-prefixed hex/);
      await expectError('{ owner(id: "0x1") { id } }', /not 0x-prefixed hex/);
      await expectError('{ owner(id: "zz", block: { number: 1 }) { id } }', /not 0x-prefixed hex/);
    });

    it("takes variables and picks the named operation", async () => {
      const query =
        "query A { items(first: 1) { id } } query B($c: Color) { items(where: { color: $c }, first: 1) { id } }";
      // Two operations and no operationName: an error, as in graph-node.
      await expectError(query, /Must provide operation name/, { c: "Blue" });
      const raw = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables: { c: "Blue" }, operationName: "B" }),
        signal: AbortSignal.timeout(5000),
      });
      // Blue items are 3, 6, 9 and 12; ids order as text, so "12" comes first.
      expect(await raw.json()).to.deep.equal({ data: { items: [{ id: "12" }] } });
    });
  });
});
