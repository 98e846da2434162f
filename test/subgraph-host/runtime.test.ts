import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Interface, keccak256, toUtf8Bytes } from "ethers";
import { after, before, describe, it } from "mocha";
import { silentLogger } from "../../sdk/logger.ts";
import { decodeEventInputs, hexToBytes } from "../../subgraph-host/src/indexer/abi-decode.ts";
import { loadManifest } from "../../subgraph-host/src/manifest.ts";
import {
  type AscHeap,
  bigIntFromSignedLE,
  bigIntToSignedLE,
  type EthEvent,
  loadEntitySchema,
  MappingModule,
} from "../../subgraph-host/src/runtime/index.ts";
import { readEntity } from "../../subgraph-host/src/runtime/values.ts";
import { openSqliteStore, type SqliteStore, toPlain } from "../../subgraph-host/src/store/index.ts";
import type { EntityData, EntityValue } from "../../subgraph-host/src/store/types.ts";
import { BUILD_DIR } from "../helpers/subgraph-host.ts";

/** A WASM module whose only content is one imported function `module.name: () -> ()`. */
function moduleImporting(module: string, name: string): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s, "utf8")];
  const importEntry = [...str(module), ...str(name), 0x00, 0x00];
  const importSection = [0x01, ...importEntry];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00],
    0x02,
    importSection.length,
    ...importSection,
  ]);
}

const schema = loadEntitySchema(path.join(BUILD_DIR, "schema.graphql"));
const options = {
  dataSource: {
    name: "JobMarket",
    address: `0x${"00".repeat(20)}`,
    network: "hardhat",
    context: {},
  },
  schema,
  logger: silentLogger,
};

describe("MappingModule#constructor", () => {
  it("refuses a module with an unsupported host import at load time, naming it", () => {
    expect(() => new MappingModule(moduleImporting("index", "ethereum.call"), options))
      .to.throw('unsupported host import "ethereum.call"')
      .with.property("code", "host-import-unsupported");
  });

  it("accepts the subgraph's compiled mappings and exposes their handlers", () => {
    const module = MappingModule.fromFile(
      path.join(BUILD_DIR, "JobMarket", "JobMarket.wasm"),
      options,
    );
    expect(module.hasHandler("handleJobPosted")).to.equal(true);
    expect(module.hasHandler("handleNothing")).to.equal(false);
  });
});

describe("loadManifest", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "conun-manifest-"));
    cpSync(BUILD_DIR, dir, { recursive: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads data sources with topic0 per handler and applies address overrides", () => {
    const manifest = loadManifest(BUILD_DIR, {
      JobMarket: { address: `0x${"AB".repeat(20)}`, startBlock: 7 },
    });
    const market = manifest.dataSources.find((ds) => ds.name === "JobMarket");
    expect(market?.address).to.equal(`0x${"ab".repeat(20)}`);
    expect(market?.startBlock).to.equal(7);
    const withdrawn = market?.eventHandlers.find((h) => h.handler === "handleWithdrawn");
    expect(withdrawn?.topic0).to.equal(keccak256(toUtf8Bytes("Withdrawn(address,uint256)")));
  });

  it("refuses block handlers at load with the data source's name", () => {
    const file = path.join(dir, "subgraph.yaml");
    const text = readFileSync(path.join(BUILD_DIR, "subgraph.yaml"), "utf8");
    writeFileSync(
      file,
      text.replace(
        "      eventHandlers:\n",
        "      blockHandlers:\n        - handler: handleBlock\n      eventHandlers:\n",
      ),
    );
    expect(() => loadManifest(dir))
      .to.throw('data source "JobMarket" uses block handlers')
      .with.property("code", "subgraph-manifest-unsupported");
  });

  it("refuses an override for a data source the build does not have", () => {
    expect(() => loadManifest(BUILD_DIR, { Nope: { startBlock: 1 } })).to.throw(
      'unknown data source "Nope"',
    );
  });
});

describe("decodeEventInputs", () => {
  it("decodes indexed and non-indexed values, tuples and arrays as ethers encodes them", () => {
    const iface = new Interface([
      "event Sample(uint256 indexed id, address indexed who, string indexed tag, (string name, uint32 n, int16 delta) info, address[] members, bytes32 root, bool ok, bytes blob)",
    ]);
    const fragment = iface.getEvent("Sample");
    if (fragment === null) throw new Error("no fragment");
    const who = `0x${"ab".repeat(20)}`;
    const encoded = iface.encodeEventLog(fragment, [
      7n,
      who,
      "tag",
      ["hello", 42, -3],
      [who, `0x${"cd".repeat(20)}`],
      `0x${"11".repeat(32)}`,
      true,
      "0xbeef",
    ]);
    const values = decodeEventInputs(fragment.inputs, encoded.topics, hexToBytes(encoded.data));
    const hex = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString("hex");
    expect(values.map((v) => v.name)).to.deep.equal([
      "id",
      "who",
      "tag",
      "info",
      "members",
      "root",
      "ok",
      "blob",
    ]);
    expect(values[0]?.value).to.deep.equal({ kind: "uint", value: 7n });
    expect(hex(values[1]?.value.value)).to.equal("ab".repeat(20));
    expect(values[2]?.value.kind).to.equal("fixedBytes");
    expect(hex(values[2]?.value.value)).to.equal(keccak256(toUtf8Bytes("tag")).slice(2));
    expect(values[3]?.value).to.deep.equal({
      kind: "tuple",
      value: [
        { kind: "string", value: "hello" },
        { kind: "uint", value: 42n },
        { kind: "int", value: -3n },
      ],
    });
    const members = values[4]?.value;
    expect(members?.kind).to.equal("array");
    expect(
      ((members?.value ?? []) as { value: Uint8Array }[]).map((m) => hex(m.value)),
    ).to.deep.equal(["ab".repeat(20), "cd".repeat(20)]);
    expect(hex(values[5]?.value.value)).to.equal("11".repeat(32));
    expect(values[6]?.value).to.deep.equal({ kind: "bool", value: true });
    expect(hex(values[7]?.value.value)).to.equal("beef");
  });
});

describe("host functions", () => {
  let heap: AscHeap;
  let call: (name: string, ...args: number[]) => number;
  let store: SqliteStore;
  let opened: ReturnType<MappingModule["openForTest"]>;

  before(() => {
    const module = MappingModule.fromFile(
      path.join(BUILD_DIR, "JobMarket", "JobMarket.wasm"),
      options,
    );
    store = openSqliteStore({
      path: ":memory:",
      schema: readFileSync(path.join(BUILD_DIR, "schema.graphql"), "utf8"),
    });
    store.beginBlock({ number: 1, hash: `0x${"01".repeat(32)}`, timestamp: 1 });
    opened = module.openForTest(store);
    heap = opened.heap;
    call = (name, ...args) => opened.hostFunction(name)(...args) as number;
  });

  const big = (value: bigint) => heap.newBigInt(value);
  const dec = (text: string) => {
    const ptr = heap.newString(text);
    return call("bigDecimal.fromString", ptr);
  };
  const decText = (ptr: number) => heap.readString(call("bigDecimal.toString", ptr));

  it("encodes BigInts as minimal little-endian two's complement", () => {
    expect([...bigIntToSignedLE(0n)]).to.deep.equal([0]);
    expect([...bigIntToSignedLE(255n)]).to.deep.equal([255, 0]);
    expect([...bigIntToSignedLE(-1n)]).to.deep.equal([255]);
    expect([...bigIntToSignedLE(-128n)]).to.deep.equal([128]);
    expect([...bigIntToSignedLE(128n)]).to.deep.equal([128, 0]);
    expect(bigIntFromSignedLE(Uint8Array.from([0x00, 0x80]))).to.equal(-32768n);
    expect(bigIntFromSignedLE(new Uint8Array())).to.equal(0n);
  });

  it("computes BigInt arithmetic like graph-node (truncating division, signed shifts)", () => {
    const r = (name: string, a: bigint, b: bigint) => heap.readBigInt(call(name, big(a), big(b)));
    expect(r("bigInt.plus", 2n ** 255n, 1n)).to.equal(2n ** 255n + 1n);
    expect(r("bigInt.minus", 0n, 5n)).to.equal(-5n);
    expect(r("bigInt.times", -3n, 7n)).to.equal(-21n);
    expect(r("bigInt.dividedBy", -7n, 2n)).to.equal(-3n);
    expect(r("bigInt.mod", -7n, 3n)).to.equal(-1n);
    expect(r("bigInt.bitOr", 12n, 3n)).to.equal(15n);
    expect(r("bigInt.bitAnd", 12n, 10n)).to.equal(8n);
    expect(heap.readBigInt(call("bigInt.pow", big(2n), 10))).to.equal(1024n);
    expect(heap.readBigInt(call("bigInt.leftShift", big(1n), 200))).to.equal(2n ** 200n);
    expect(heap.readBigInt(call("bigInt.rightShift", big(-16n), 2))).to.equal(-4n);
    const text = "-123456789012345678901234567890";
    expect(heap.readBigInt(call("bigInt.fromString", heap.newString(text)))).to.equal(BigInt(text));
  });

  it("fails the handler on division by zero instead of returning a value", () => {
    expect(() => call("bigInt.dividedBy", big(1n), big(0n))).to.throw("division by zero");
    expect(() => call("bigDecimal.dividedBy", dec("1"), dec("0"))).to.throw("division by zero");
  });

  it("keeps BigDecimals to 34 significant digits, rounded half to even, in plain notation", () => {
    expect(decText(call("bigDecimal.dividedBy", dec("1"), dec("3")))).to.equal(
      `0.${"3".repeat(34)}`,
    );
    expect(decText(call("bigDecimal.dividedBy", dec("2"), dec("3")))).to.equal(
      `0.${"6".repeat(33)}7`,
    );
    expect(decText(call("bigDecimal.plus", dec("0.1"), dec("0.2")))).to.equal("0.3");
    expect(decText(call("bigDecimal.minus", dec("1"), dec("1.25")))).to.equal("-0.25");
    expect(decText(call("bigDecimal.times", dec("1.5"), dec("-2")))).to.equal("-3");
    expect(decText(dec("1e3"))).to.equal("1000");
    expect(decText(dec("0.000120"))).to.equal("0.00012");
    expect(decText(dec("12345678901234567890123456789012345"))).to.equal(
      "12345678901234567890123456789012340",
    );
    expect(call("bigDecimal.equals", dec("1.0"), dec("1"))).to.equal(1);
    expect(call("bigDecimal.equals", dec("1.01"), dec("1"))).to.equal(0);
    expect(decText(call("bigInt.dividedByDecimal", big(1n), dec("4")))).to.equal("0.25");
  });

  it("converts bytes, strings and numbers as graph-ts expects", () => {
    const bytes = (hex: string) => heap.newBytes(Uint8Array.from(Buffer.from(hex, "hex")));
    expect(heap.readString(call("typeConversion.bytesToHex", bytes("dead")))).to.equal("0xdead");
    expect(heap.readString(call("typeConversion.bigIntToString", big(-42n)))).to.equal("-42");
    expect(heap.readString(call("typeConversion.bigIntToHex", big(255n)))).to.equal("0xff");
    expect(heap.readString(call("typeConversion.bytesToString", bytes("6869c3a90000")))).to.equal(
      "hié",
    );
    expect(heap.readString(call("typeConversion.bytesToBase58", bytes("0000ff")))).to.equal("115Q");
    const address = `0x${"Ab".repeat(20)}`;
    expect(
      Buffer.from(
        heap.readBytes(call("typeConversion.stringToH160", heap.newString(address))),
      ).toString("hex"),
    ).to.equal("ab".repeat(20));
    expect(
      Buffer.from(heap.readBytes(call("crypto.keccak256", bytes("")))).toString("hex"),
    ).to.equal(keccak256(new Uint8Array()).slice(2));
    expect(heap.readString(heap.newString("héllo ✓"))).to.equal("héllo ✓");
  });

  it("rejects store.set of an entity missing required fields, like graph-node", () => {
    const entity = heap.newObject("TypedMapStringStoreValue", [
      heap.newPointerArray([], "ArrayTypedMapEntryStringStoreValue"),
    ]);
    expect(() =>
      call("store.set", heap.newString("Requester"), heap.newString("0x01"), entity),
    ).to.throw("missing value for non-nullable field(s) jobCount");
  });

  it("answers loadRelated, get_in_block and remove from the open block", () => {
    const provider = `0x${"0a".repeat(20)}`;
    const stakeEvent = (id: string): EntityData =>
      new Map<string, EntityValue>([
        ["id", { kind: "bytes", value: hexToBytes(id) }],
        ["provider", { kind: "bytes", value: hexToBytes(provider) }],
        ["kind", { kind: "string", value: "Staked" }],
        ["amount", { kind: "bigint", value: 5n }],
        ["stakeAfter", { kind: "bigint", value: 5n }],
        ["lockedAfter", { kind: "bigint", value: 0n }],
        ["unbondingAfter", { kind: "bigint", value: 0n }],
        ["blockNumber", { kind: "bigint", value: 1n }],
        ["blockTimestamp", { kind: "bigint", value: 1n }],
        ["transactionHash", { kind: "bytes", value: new Uint8Array(32) }],
      ]);
    store.set("StakeEvent", "0x01", stakeEvent("0x01"));
    store.set("StakeEvent", "0x02", stakeEvent("0x02"));
    const related = heap.readPointerArray(
      call(
        "store.loadRelated",
        heap.newString("Provider"),
        heap.newString(provider),
        heap.newString("stakeEvents"),
      ),
    );
    const ids = related.map((ptr) => toPlain(readEntity(heap, ptr).get("id") as EntityValue));
    expect(ids).to.have.members(["0x01", "0x02"]);
    const inBlock = call(
      "store.get_in_block",
      heap.newString("StakeEvent"),
      heap.newString("0x01"),
    );
    expect(toPlain(readEntity(heap, inBlock).get("amount") as EntityValue)).to.equal(5n);
    expect(
      call("store.get_in_block", heap.newString("Provider"), heap.newString(provider)),
    ).to.equal(0);
    expect(() =>
      call(
        "store.loadRelated",
        heap.newString("Provider"),
        heap.newString(provider),
        heap.newString("stake"),
      ),
    ).to.throw("not a @derivedFrom field");

    const account = `0x${"0b".repeat(20)}`;
    store.set(
      "ClaimableBalance",
      account,
      new Map<string, EntityValue>([
        ["id", { kind: "bytes", value: hexToBytes(account) }],
        ["credited", { kind: "bigint", value: 1n }],
        ["withdrawn", { kind: "bigint", value: 0n }],
        ["balance", { kind: "bigint", value: 1n }],
      ]),
    );
    call("store.remove", heap.newString("ClaimableBalance"), heap.newString(account));
    expect(store.get("ClaimableBalance", account)).to.equal(null);
    expect(call("store.get", heap.newString("ClaimableBalance"), heap.newString(account))).to.equal(
      0,
    );
  });

  it("parses JSON keeping numbers' source text, and converts them on request", () => {
    const text = '{"a": 123456789012345678901234567890, "b": [true, null, "x"], "c": 1.5}';
    const value = call("json.fromBytes", heap.newBytes(Buffer.from(text, "utf8")));
    expect(heap.i32(value)).to.equal(5); // OBJECT
    const entries = heap.readPointerArray(heap.u32(heap.u32(value + 8)));
    expect(entries.map((e) => heap.readString(heap.u32(e)))).to.deep.equal(["a", "b", "c"]);
    const a = heap.u32((entries[0] as number) + 4);
    expect(heap.i32(a)).to.equal(2); // NUMBER
    const digits = heap.u32(a + 8);
    expect(heap.readString(digits)).to.equal("123456789012345678901234567890");
    expect(heap.readBigInt(call("json.toBigInt", digits))).to.equal(
      123456789012345678901234567890n,
    );
    const b = heap.u32((entries[1] as number) + 4);
    expect(heap.readPointerArray(heap.u32(b + 8)).map((item) => heap.i32(item))).to.deep.equal([
      1, 0, 3,
    ]);
    expect(opened.hostFunction("json.toI64")(heap.newString("-42"))).to.equal(-42n);
    expect(opened.hostFunction("json.toU64")(heap.newString("18446744073709551615"))).to.equal(-1n);
    expect(opened.hostFunction("json.toF64")(heap.newString("1.5"))).to.equal(1.5);
    expect(() => call("json.toI64", heap.newString("1.5"))).to.throw("not an integer");
    expect(() => call("json.fromBytes", heap.newBytes(Buffer.from("{bad", "utf8")))).to.throw(
      "invalid JSON",
    );
    const failed = call("json.try_fromBytes", heap.newBytes(Buffer.from("{bad", "utf8")));
    expect(heap.u32(failed)).to.equal(0);
    expect(heap.u32(heap.u32(failed + 4)) & 0xff).to.equal(1);
    const ok = call("json.try_fromBytes", heap.newBytes(Buffer.from("[]", "utf8")));
    expect(heap.i32(heap.u32(heap.u32(ok)))).to.equal(4); // Wrapped<JSONValue> → ARRAY
  });

  it("gives the data source's address, network and context", () => {
    expect(Buffer.from(heap.readBytes(call("dataSource.address"))).toString("hex")).to.equal(
      "00".repeat(20),
    );
    expect(heap.readString(call("dataSource.network"))).to.equal("hardhat");
    expect(readEntity(heap, call("dataSource.context")).size).to.equal(0);
  });

  it("aborts on a critical log and on AssemblyScript's abort with the source position", () => {
    expect(() => call("log.log", 0, heap.newString("boom"))).to.throw("critical: boom");
    expect(() =>
      call("abort", heap.newString("assertion failed"), heap.newString("src/x.ts"), 3, 14),
    ).to.throw("assertion failed in src/x.ts (3:14)");
  });
});

describe("MappingModule#handleEvent", () => {
  const zero = (n: number) => new Uint8Array(n);
  const feeSet = (feeBps: bigint): EthEvent => ({
    address: hexToBytes(`0x${"cc".repeat(20)}`),
    logIndex: 0n,
    transactionLogIndex: 0n,
    logType: null,
    block: {
      hash: zero(32),
      parentHash: zero(32),
      unclesHash: zero(32),
      author: zero(20),
      stateRoot: zero(32),
      transactionsRoot: zero(32),
      receiptsRoot: zero(32),
      number: 1n,
      gasUsed: 0n,
      gasLimit: 30_000_000n,
      timestamp: 86_400n,
      difficulty: 0n,
      totalDifficulty: 0n,
      size: null,
      baseFeePerGas: null,
    },
    transaction: {
      hash: zero(32),
      index: 0n,
      from: zero(20),
      to: null,
      value: 0n,
      gasLimit: 0n,
      gasPrice: 0n,
      input: zero(0),
      nonce: 0n,
    },
    params: [{ name: "feeBps", value: { kind: "uint", value: feeBps } }],
  });
  const openStore = () => {
    const store = openSqliteStore({
      path: ":memory:",
      schema: readFileSync(path.join(BUILD_DIR, "schema.graphql"), "utf8"),
    });
    store.beginBlock({ number: 1, hash: `0x${"01".repeat(32)}`, timestamp: 86_400 });
    return store;
  };
  const wasm = path.join(BUILD_DIR, "JobMarket", "JobMarket.wasm");

  it("runs a compiled handler, which writes through the store", () => {
    const store = openStore();
    MappingModule.fromFile(wasm, options).handleEvent("handleProtocolFeeSet", feeSet(250n), store);
    expect(toPlain(store.get("Network", "network")?.get("protocolFeeBps") as EntityValue)).to.equal(
      250,
    );
    expect(toPlain(store.get("Network", "network")?.get("market") as EntityValue)).to.equal(
      `0x${"cc".repeat(20)}`,
    );
  });

  it("fails a handler that runs past its time limit, and writes nothing", () => {
    const store = openStore();
    const module = MappingModule.fromFile(wasm, { ...options, handlerTimeoutMs: -1 });
    expect(() => module.handleEvent("handleProtocolFeeSet", feeSet(250n), store))
      .to.throw("time limit")
      .with.property("code", "mapping-failed");
    expect(store.get("Network", "network")).to.equal(null);
  });
});
