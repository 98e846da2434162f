/**
 * A small, hand-written CONUN history written straight into the embedded host's store (no
 * chain, no mappings), served over real HTTP: what the query helpers and the auditor CLI are
 * tested against. The figures are chosen so every report line can be checked by hand.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GraphqlServer, startGraphqlServer } from "../../subgraph-host/src/server.ts";
import {
  type EntityData,
  type EntityValue,
  openSqliteStore,
  type SqliteStore,
  type SubgraphSchema,
} from "../../subgraph-host/src/store/index.ts";
import { tempDir } from "../subgraph-host/store-fixtures.ts";

export const SCHEMA_SOURCE = readFileSync(
  new URL("../../subgraph/schema.graphql", import.meta.url),
  "utf8",
);

export const E18 = 10n ** 18n;
export const REQUESTER = "0x1000000000000000000000000000000000000001";
export const P1 = "0xa100000000000000000000000000000000000001";
export const P2 = "0xa200000000000000000000000000000000000002";
export const P3 = "0xa300000000000000000000000000000000000003";
export const DAY = 20_000;
export const T0 = DAY * 86_400 + 3_600;

type Plain = string | number | bigint | boolean | null | Uint8Array | Plain[];

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), "hex"));
}

/** An entity with every non-null field defaulted (0, "", false, first enum value, []). */
function make(schema: SubgraphSchema, type: string, values: Record<string, Plain>): EntityData {
  const model = schema.entities.get(type);
  if (!model) throw new Error(`no entity ${type}`);
  const data: EntityData = new Map();
  for (const f of model.stored) {
    const scalar =
      f.kind === "entity"
        ? (schema.entities.get(f.type)?.idType ?? "ID")
        : f.kind === "enum"
          ? "String"
          : f.type;
    const conv = (v: Plain): EntityValue => {
      if (v === null) return { kind: "null" };
      switch (scalar) {
        case "Int":
          return { kind: "int", value: Number(v) };
        case "BigInt":
          return { kind: "bigint", value: BigInt(v as bigint) };
        case "BigDecimal":
          return { kind: "bigdecimal", value: String(v) };
        case "Boolean":
          return { kind: "bool", value: Boolean(v) };
        case "Bytes":
          return { kind: "bytes", value: v instanceof Uint8Array ? v : hexBytes(String(v)) };
        default:
          return { kind: "string", value: String(v) };
      }
    };
    let value = values[f.name];
    if (value === undefined) {
      if (!f.nonNull) continue;
      if (f.list) value = [];
      else if (f.kind === "enum") value = schema.enums.get(f.type)?.[0] ?? "";
      else if (scalar === "Bytes") value = "0x";
      else if (scalar === "String" || scalar === "ID") value = "";
      else if (scalar === "Boolean") value = false;
      else value = 0;
    }
    data.set(f.name, f.list ? { kind: "array", value: (value as Plain[]).map(conv) } : conv(value));
  }
  return data;
}

function fill(store: SqliteStore): void {
  const schema = store.schema;
  const set = (type: string, id: string, values: Record<string, Plain>) =>
    store.set(type, id, make(schema, type, { id, ...values }));
  store.beginBlock({ number: 41, hash: `0x${"41".repeat(32)}`, timestamp: T0 });
  set("Requester", REQUESTER, { jobCount: 2, escrowed: 90n * E18, refunded: 12n * E18 });
  const providers: [string, Record<string, Plain>][] = [
    [
      P1,
      {
        stake: 1000n * E18,
        locked: 100n * E18,
        freeStake: 900n * E18,
        tasksAssigned: 4n,
        tasksSettled: 4n,
        tasksCompleted: 3n,
        successRate: "0.75",
        grossEarnings: 30n * E18,
        feesPaid: (3n * E18) / 10n,
        netEarnings: (297n * E18) / 10n,
        slashCount: 1,
        slashedAmount: 5n * E18,
        membershipsPaid: 1,
        membershipsSlashed: 1,
        jobsWon: 2,
        bidCount: 2,
      },
    ],
    [P2, { stake: 500n * E18, freeStake: 500n * E18, tasksCompleted: 2n, successRate: "1" }],
    [
      P3,
      {
        stake: 750n * E18,
        freeStake: 750n * E18,
        successRate: "0",
        slashCount: 1,
        // Anyone registers with any metadata: this one would retitle a terminal if printed raw.
        metadataURI: "ipfs://meta\u001b]0;pwned\u0007",
      },
    ],
  ];
  for (const [id, values] of providers)
    set("Provider", id, {
      registered: true,
      registeredAt: BigInt(T0 - 100),
      cpuMillicores: 4000n,
      memoryMiB: 8192n,
      gpuCount: 1,
      metadataURI: "ipfs://meta",
      ...values,
    });
  set("Job", "1", {
    jobId: 1n,
    requester: REQUESTER,
    status: "Finalized",
    manifestCid: "bafkreimanifest",
    manifestDigest: `0x${"ab".repeat(32)}`,
    imageRef: "busybox@sha256:1234",
    imageDigest: `0x${"cd".repeat(32)}`,
    taskCount: 2,
    replication: 3,
    quorum: 2,
    maxPrice: 10n * E18,
    stakePerTaskReplica: (5n * E18) / 2n,
    biddingWindow: 600,
    executionWindow: 3600,
    revealWindow: 600,
    cpuMillicores: 1000n,
    memoryMiB: 512n,
    biddingDeadline: BigInt(T0 + 600),
    commitDeadline: BigInt(T0 + 4200),
    revealDeadline: BigInt(T0 + 4800),
    escrow: 60n * E18,
    escrowHeld: 0n,
    cost: 48n * E18,
    refunded: 12n * E18 + 16n * E18,
    slashed: 5n * E18,
    paid: 32n * E18,
    fees: (32n * E18) / 100n,
    groupCount: 1,
    winners: [P1, P2, P3],
    postedAtBlock: 41n,
    postedAt: BigInt(T0),
    postedTx: `0x${"11".repeat(32)}`,
    closedAt: BigInt(T0 + 600),
    finalizedAt: BigInt(T0 + 4800),
  });
  set("Job", "2", {
    jobId: 2n,
    requester: REQUESTER,
    status: "Open",
    taskCount: 1,
    replication: 1,
    quorum: 1,
    maxPrice: 30n * E18,
    escrow: 30n * E18,
    escrowHeld: 30n * E18,
    biddingDeadline: BigInt(T0 + 90_000),
    postedAtBlock: 41n,
    postedAt: BigInt(T0 + 86_400),
  });
  const prices: Record<string, bigint> = { [P1]: 8n * E18, [P2]: 8n * E18, [P3]: 8n * E18 };
  for (const p of [P1, P2, P3])
    set("Bid", `1-${p}`, {
      job: "1",
      provider: p,
      price: prices[p] as bigint,
      capacity: 2,
      stakeLocked: 5n * E18,
      allotted: 2,
      status: "Accepted",
      placedAt: BigInt(T0 + 10),
      updatedAt: BigInt(T0 + 600),
    });
  set("Bid", `2-${P1}`, {
    job: "2",
    provider: P1,
    price: 25n * E18,
    capacity: 1,
    status: "Placed",
    placedAt: BigInt(T0 + 86_500),
  });
  set("ReplicaGroup", "1-0", {
    job: "1",
    groupId: 0,
    taskStart: 0,
    taskCount: 2,
    members: [P1, P2, P3],
    commitCount: 3,
    revealCount: 3,
    outcome: "Agreed",
    winningRoot: `0x${"77".repeat(32)}`,
    agreeing: 2,
    winnersMask: 3,
    refund: 16n * E18,
    finalizedAt: BigInt(T0 + 4800),
  });
  const outcomes: [string, number, string, string | null][] = [
    [P1, 0, "Paid", `0x${"77".repeat(32)}`],
    [P2, 1, "Paid", `0x${"77".repeat(32)}`],
    [P3, 2, "Slashed", `0x${"99".repeat(32)}`],
  ];
  for (const [p, lane, outcome, root] of outcomes)
    set("GroupMember", `1-0-${p}`, {
      job: "1",
      group: "1-0",
      provider: p,
      bid: `1-${p}`,
      lane,
      taskCount: 2,
      commitment: `0x${String(lane + 1).repeat(64)}`,
      resultRoot: root,
      resultsCid: `bafyresults${lane}`,
      committedAt: BigInt(T0 + 1000 + lane),
      revealedAt: BigInt(T0 + 4300 + lane),
      outcome,
      payment: outcome === "Paid" ? 16n * E18 : 0n,
      slashReason: outcome === "Slashed" ? "WrongResult" : null,
      slashedAmount: outcome === "Slashed" ? 5n * E18 : 0n,
    });
  const ev = (n: number) => `0x${"e0".repeat(31)}${n.toString(16).padStart(2, "0")}`;
  const common = (n: number) => ({
    blockNumber: 41n,
    blockTimestamp: BigInt(T0 + 5000 + n),
    transactionHash: `0x${"f0".repeat(31)}${n.toString(16).padStart(2, "0")}`,
  });
  set("Slash", ev(1), {
    job: "1",
    group: "1-0",
    member: `1-0-${P3}`,
    provider: P3,
    amount: 5n * E18,
    reason: "WrongResult",
    ...common(1),
  });
  set("Claim", ev(2), {
    job: "1",
    provider: P1,
    bid: `1-${P1}`,
    payment: 16n * E18,
    fee: (16n * E18) / 100n,
    net: 16n * E18 - (16n * E18) / 100n,
    stakeReleased: 5n * E18,
    ...common(2),
  });
  const flows: [string, string, string, bigint][] = [
    ["In", "EscrowDeposit", REQUESTER, 60n * E18],
    ["Credit", "Refund", REQUESTER, 12n * E18],
    ["Out", "Payment", P1, 16n * E18 - (16n * E18) / 100n],
  ];
  flows.forEach(([direction, kind, account, amount], n) => {
    set("TokenFlow", ev(10 + n), { direction, kind, account, job: "1", amount, ...common(10 + n) });
  });
  set("Network", "network", {
    protocolFeeBps: 100,
    jobCount: 2,
    jobsAwarded: 1,
    jobsFinalized: 1,
    taskCount: 3n,
    taskReplicaCount: 7n,
    bidCount: 4,
    providerCount: 3,
    requesterCount: 1,
    volumeEscrowed: 90n * E18,
    volumeRefunded: 28n * E18,
    volumePaid: 32n * E18,
    feesCollected: (32n * E18) / 100n,
    slashCount: 1,
    slashedAmount: 5n * E18,
    escrowHeld: 30n * E18,
    totalStaked: 2250n * E18,
    totalLocked: 100n * E18,
  });
  for (const [day, posted, volume] of [
    [DAY, 1, 60n * E18],
    [DAY + 1, 1, 30n * E18],
  ] as [number, number, bigint][])
    set("NetworkDayData", String(day), {
      date: BigInt(day * 86_400),
      jobsPosted: posted,
      tasksPosted: BigInt(posted),
      volumeEscrowed: volume,
      activeProviders: day === DAY ? 3 : 1,
      bidsPlaced: day === DAY ? 3 : 1,
    });
  store.commitBlock();
}

export interface ConunFixture {
  store: SqliteStore;
  server: GraphqlServer;
  close(): Promise<void>;
}

/** A store holding the history above, served at `server.url` (subgraph name "conun"). */
export async function startConunFixture(): Promise<ConunFixture> {
  const tmp = tempDir("conun-queries-");
  const store = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: SCHEMA_SOURCE });
  fill(store);
  const server = await startGraphqlServer({
    store,
    schemaSource: store.schema,
    subgraphName: "conun",
    deployment: "QmConunFixture",
  });
  return {
    store,
    server,
    close: async () => {
      await server.close();
      store.close();
      tmp.cleanup();
    },
  };
}
