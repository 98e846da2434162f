// apiVersion 0.0.5–0.0.9 as graph-node runs them: the Ethereum object layouts per version
// (chain/ethereum/src/trigger.rs, runtime/abi.rs), the manifest checks
// (graph/src/data/subgraph/manifest_validation.rs), and store.set of fields the schema does not
// define (runtime/wasm/src/host_exports.rs `check_invalid_fields`), the last with a mapping that
// graph-cli builds here for apiVersion 0.0.5, indexing a real chain.
import { execFile } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { GraphQLClient } from "graphql-request";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import { type Connection, deployProtocol, registerProviders } from "../../devnet/protocol.ts";
import { silentLogger } from "../../sdk/logger.ts";
import { startSubgraphHost } from "../../subgraph-host/src/host.ts";
import { loadManifest } from "../../subgraph-host/src/manifest.ts";
import {
  type EthEvent,
  ethereumLayout,
  writeEvent,
} from "../../subgraph-host/src/runtime/ethereum.ts";
import { MappingModule } from "../../subgraph-host/src/runtime/mapping-module.ts";
import { loadEntitySchema } from "../../subgraph-host/src/runtime/schema.ts";
import { take } from "../helpers/market.ts";
import { BUILD_DIR, type HttpRpcBridge, serveOverHttp } from "../helpers/subgraph-host.ts";

const REPO = path.join(import.meta.dirname, "..", "..");
const GRAPH = path.join(REPO, "node_modules", ".bin", "graph");

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const sampleEvent: EthEvent = {
  address: bytes(20, 0xcc),
  logIndex: 3n,
  transactionLogIndex: 3n,
  logType: null,
  block: {
    hash: bytes(32, 1),
    parentHash: bytes(32, 2),
    unclesHash: bytes(32, 3),
    author: bytes(20, 4),
    stateRoot: bytes(32, 5),
    transactionsRoot: bytes(32, 6),
    receiptsRoot: bytes(32, 7),
    number: 10n,
    gasUsed: 21_000n,
    gasLimit: 30_000_000n,
    timestamp: 86_400n,
    difficulty: 0n,
    totalDifficulty: 0n,
    size: 600n,
    baseFeePerGas: 7n,
  },
  transaction: {
    hash: bytes(32, 9),
    index: 0n,
    from: bytes(20, 0xaa),
    to: bytes(20, 0xbb),
    value: 0n,
    gasLimit: 100_000n,
    gasPrice: 8n,
    input: Uint8Array.from([0xde, 0xad]),
    nonce: 5n,
  },
  params: [],
};

describe("apiVersion layouts (runtime/ethereum.ts)", () => {
  const module = () =>
    MappingModule.fromFile(path.join(BUILD_DIR, "JobMarket", "JobMarket.wasm"), {
      dataSource: {
        name: "JobMarket",
        address: `0x${"00".repeat(20)}`,
        network: "hardhat",
        context: {},
      },
      schema: loadEntitySchema(path.join(BUILD_DIR, "schema.graphql")),
      logger: silentLogger,
    });

  // Sizes are the payload size in the object header (ptr - 4): 4 bytes per pointer field.
  const cases = [
    { version: "0.0.5", event: 7, block: 14, transaction: 8 },
    { version: "0.0.6", event: 7, block: 15, transaction: 9 },
    { version: "0.0.7", event: 8, block: 15, transaction: 9 },
    { version: "0.0.8", event: 8, block: 15, transaction: 9 },
    { version: "0.0.9", event: 8, block: 15, transaction: 9 },
  ];
  for (const { version, event, block, transaction } of cases) {
    it(`writes graph-node's ${version} Event (${event} fields), Block (${block}) and Transaction (${transaction})`, () => {
      const { heap } = module().openForTest();
      const ptr = writeEvent(heap, sampleEvent, ethereumLayout(version));
      const blockPtr = heap.u32(ptr + 16);
      const txPtr = heap.u32(ptr + 20);
      expect(heap.u32(ptr - 4), "event size").to.equal(event * 4);
      expect(heap.u32(blockPtr - 4), "block size").to.equal(block * 4);
      expect(heap.u32(txPtr - 4), "transaction size").to.equal(transaction * 4);
      // The fields every version has, at the same offsets.
      expect(heap.readBigInt(heap.u32(blockPtr + 52))).to.equal(600n); // size
      expect([...heap.readBytes(heap.u32(txPtr + 28))]).to.deep.equal([0xde, 0xad]); // input
      if (block === 15) expect(heap.readBigInt(heap.u32(blockPtr + 56))).to.equal(7n); // baseFeePerGas
      if (transaction === 9) expect(heap.readBigInt(heap.u32(txPtr + 32))).to.equal(5n); // nonce
      if (event === 8) expect(heap.u32(ptr + 28)).to.equal(0); // receipt: null
    });
  }
});

describe("apiVersion in the manifest (manifest.ts)", () => {
  let dir: string;
  const text = readFileSync(path.join(BUILD_DIR, "subgraph.yaml"), "utf8");
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "conun-api-version-"));
    cpSync(BUILD_DIR, dir, { recursive: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const withVersions = (...versions: string[]) => {
    let i = 0;
    writeFileSync(
      path.join(dir, "subgraph.yaml"),
      text.replace(/apiVersion: 0\.0\.9/g, () => `apiVersion: ${versions[i++ % versions.length]}`),
    );
    return () => loadManifest(dir);
  };

  it("accepts every version from 0.0.5 to 0.0.9", () => {
    for (const version of ["0.0.5", "0.0.6", "0.0.7", "0.0.8", "0.0.9"]) {
      const manifest = withVersions(version)();
      expect(manifest.dataSources.map((ds) => ds.apiVersion)).to.deep.equal([
        version,
        version,
        version,
      ]);
    }
  });

  it("refuses versions outside 0.0.5–0.0.9, saying which it runs", () => {
    for (const version of ["0.0.4", "0.0.10"]) {
      expect(withVersions(version))
        .to.throw(
          `data source "JobMarket" uses apiVersion ${version}; the embedded host runs 0.0.5, 0.0.6, 0.0.7, 0.0.8, 0.0.9`,
        )
        .with.property("code", "subgraph-manifest-unsupported");
    }
  });

  it("refuses data sources with different versions, as graph-node does from 0.0.5 on", () => {
    expect(withVersions("0.0.9", "0.0.6", "0.0.9"))
      .to.throw("the data sources use different apiVersions (0.0.6, 0.0.9)")
      .with.property("code", "subgraph-manifest-invalid");
  });
});

/** The test subgraph: ConunToken transfers, with a mapping that also sets a field not in the schema. */
function writeTransferSubgraph(dir: string, apiVersion: string): void {
  mkdirSync(path.join(dir, "src"), { recursive: true });
  mkdirSync(path.join(dir, "abis"), { recursive: true });
  symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  const abi = JSON.parse(
    readFileSync(path.join(BUILD_DIR, "ConunToken", "ConunToken.json"), "utf8"),
  ) as { type: string; name?: string }[];
  writeFileSync(
    path.join(dir, "abis", "Token.json"),
    JSON.stringify(abi.filter((f) => f.type === "event" && f.name === "Transfer")),
  );
  writeFileSync(
    path.join(dir, "schema.graphql"),
    `type Transfer @entity(immutable: true) {
  id: ID!
  from: Bytes!
  to: Bytes!
  value: BigInt!
  txHash: Bytes!
  txInput: Bytes!
  txGasLimit: BigInt!
  blockNumber: BigInt!
  blockHash: Bytes!
}
`,
  );
  writeFileSync(
    path.join(dir, "subgraph.yaml"),
    `specVersion: 0.0.5
schema:
  file: ./schema.graphql
dataSources:
  - kind: ethereum/contract
    name: Token
    network: mainnet
    source:
      address: "0x0000000000000000000000000000000000000001"
      abi: Token
      startBlock: 0
    mapping:
      kind: ethereum/events
      apiVersion: ${apiVersion}
      language: wasm/assemblyscript
      file: ./src/mapping.ts
      entities:
        - Transfer
      abis:
        - name: Token
          file: ./abis/Token.json
      eventHandlers:
        - event: Transfer(indexed address,indexed address,uint256)
          handler: handleTransfer
`,
  );
  writeFileSync(
    path.join(dir, "src", "mapping.ts"),
    `import { Value } from "@graphprotocol/graph-ts";
import { Transfer as TransferEvent } from "../generated/Token/Token";
import { Transfer } from "../generated/schema";

export function handleTransfer(event: TransferEvent): void {
  const transfer = new Transfer(event.transaction.hash.toHex() + "-" + event.logIndex.toString());
  transfer.from = event.params.from;
  transfer.to = event.params.to;
  transfer.value = event.params.value;
  transfer.txHash = event.transaction.hash;
  transfer.txInput = event.transaction.input;
  transfer.txGasLimit = event.transaction.gasLimit;
  transfer.blockNumber = event.block.number;
  transfer.blockHash = event.block.hash;
  // Not in the schema: graph-node drops it before apiVersion 0.0.8 and fails the handler after.
  transfer.set("notInSchema", Value.fromString("dropped"));
  transfer.save();
}
`,
  );
}

describe("a mapping built for apiVersion 0.0.5, on a real chain", function () {
  this.timeout(180_000);
  let dir: string;
  let connection: Connection;
  let bridge: HttpRpcBridge;
  const run = promisify(execFile);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "conun-api-0.0.5-"));
    writeTransferSubgraph(dir, "0.0.5");
    // graph-cli's own build. --skip-migrations keeps apiVersion 0.0.5: graph codegen and graph
    // build otherwise rewrite the manifest to 0.0.6 (migrations/mapping_api_version_0_0_5.js).
    await run(GRAPH, ["codegen", "--skip-migrations"], { cwd: dir, timeout: 120_000 });
    await run(GRAPH, ["build", "--skip-migrations"], { cwd: dir, timeout: 120_000 });
    connection = await network.create({ chainType: "l1" });
    bridge = await serveOverHttp(connection);
  });
  after(async () => {
    await bridge?.close();
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = async (buildDir: string, token: string) =>
    startSubgraphHost({
      buildDir,
      rpcUrl: bridge.url,
      dbPath: ":memory:",
      name: "transfers",
      port: 0,
      logger: silentLogger,
      dataSourceOverrides: { Token: { address: token, startBlock: 0 } },
      pollIntervalMs: 20,
      maxBackoffMs: 100,
    });

  it("indexes with the 0.0.5 layouts and drops the field the schema does not define", async () => {
    const build = path.join(dir, "build");
    expect(readFileSync(path.join(build, "subgraph.yaml"), "utf8")).to.include("apiVersion: 0.0.5");
    const p = await deployProtocol(connection);
    await registerProviders(p, take(p.providers, 2));
    const head = await connection.ethers.provider.getBlockNumber();
    const subgraph = await host(build, await p.token.getAddress());
    try {
      await subgraph.waitForBlock(head, 20_000);
      const { transfers } = await new GraphQLClient(subgraph.url).request<{
        transfers: {
          id: string;
          txHash: string;
          txInput: string;
          txGasLimit: string;
          blockNumber: string;
          blockHash: string;
          value: string;
        }[];
      }>("{ transfers(first: 1000) { id txHash txInput txGasLimit blockNumber blockHash value } }");
      // Each provider was sent its stake and staked it.
      expect(transfers.length).to.be.greaterThanOrEqual(4);
      for (const transfer of transfers) {
        const tx = await connection.ethers.provider.getTransaction(transfer.txHash);
        const block = await connection.ethers.provider.getBlock(Number(transfer.blockNumber));
        expect(transfer.txInput).to.equal(tx?.data.toLowerCase());
        expect(transfer.txGasLimit).to.equal(tx?.gasLimit.toString());
        expect(transfer.blockHash).to.equal(block?.hash?.toLowerCase());
        const stored = subgraph.store.get("Transfer", transfer.id);
        expect(stored?.has("notInSchema")).to.equal(false);
      }
      expect(subgraph.indexer.failure).to.equal(null);
    } finally {
      await subgraph.close();
    }
  });

  it("fails the handler on that field from 0.0.8 on, with graph-node's message", async () => {
    // The same WASM under apiVersion 0.0.8: graph-cli compiles 0.0.5–0.0.9 alike.
    const build = path.join(dir, "build-0.0.8");
    cpSync(path.join(dir, "build"), build, { recursive: true });
    const manifestPath = path.join(build, "subgraph.yaml");
    writeFileSync(
      manifestPath,
      readFileSync(manifestPath, "utf8").replace("apiVersion: 0.0.5", "apiVersion: 0.0.8"),
    );
    const p = await deployProtocol(connection);
    await registerProviders(p, take(p.providers, 1));
    const head = await connection.ethers.provider.getBlockNumber();
    const subgraph = await host(build, await p.token.getAddress());
    try {
      const outcome = await subgraph.waitForBlock(head, 20_000).then(
        () => "indexed",
        (error: Error) => error.message,
      );
      expect(outcome).to.include(
        "Attempted to set undefined fields [notInSchema] for the entity type `Transfer`. Make sure those fields are defined in the schema.",
      );
      // The failing block (the token's first transfer) and everything after stay out.
      expect(subgraph.indexer.failure?.message).to.include("undefined fields [notInSchema]");
      expect(subgraph.store.head()?.number ?? -1).to.be.lessThan(head);
    } finally {
      await subgraph.close();
    }
  });
});
