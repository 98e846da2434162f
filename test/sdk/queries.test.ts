import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import {
  createSubgraphClient,
  getJob,
  getMeta,
  getNetworkDays,
  getNetworkStats,
  getProvider,
  listJobs,
  listProviders,
  type SubgraphClient,
  SubgraphDataError,
  SubgraphQueryError,
} from "../../sdk/queries/index.ts";
import {
  type ConunFixture,
  DAY,
  E18,
  P1,
  P2,
  P3,
  REQUESTER,
  startConunFixture,
  T0,
} from "./queries-fixtures.ts";

async function failure(promise: Promise<unknown>): Promise<SubgraphQueryError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(SubgraphQueryError);
    return err as SubgraphQueryError;
  }
  return expect.fail("expected a SubgraphQueryError");
}

describe("sdk/queries", () => {
  let fixture: ConunFixture;
  let subgraph: SubgraphClient;

  before(async () => {
    fixture = await startConunFixture();
    subgraph = createSubgraphClient(fixture.server.url, { timeoutMs: 5000 });
  });
  after(async () => {
    await fixture.close();
  });

  describe("getJob", () => {
    it("returns the spec, bids, groups with commits and reveals, claims, slashes and flows", async () => {
      const job = await getJob(subgraph, 1n);
      expect(job).to.not.equal(null);
      if (!job) return;
      expect(job.jobId).to.equal(1n);
      expect(job.status).to.equal("Finalized");
      expect(job.requester).to.equal(REQUESTER);
      expect([job.taskCount, job.replication, job.quorum]).to.deep.equal([2, 3, 2]);
      expect(job.maxPrice).to.equal(10n * E18);
      expect(job.cost).to.equal(48n * E18);
      expect(job.winners).to.deep.equal([P1, P2, P3].sort());
      expect(job.bids.map((b) => [b.provider, b.price, b.status])).to.deep.equal(
        [P1, P2, P3].map((p) => [p, 8n * E18, "Accepted"]),
      );
      expect(job.groups).to.have.length(1);
      const group = job.groups[0];
      expect(group?.outcome).to.equal("Agreed");
      expect(group?.members.map((m) => [m.lane, m.outcome, m.slashReason])).to.deep.equal([
        [0, "Paid", null],
        [1, "Paid", null],
        [2, "Slashed", "WrongResult"],
      ]);
      expect(group?.members[2]?.committedAt).to.equal(BigInt(T0 + 1002));
      expect(job.claims.map((c) => [c.provider, c.net])).to.deep.equal([
        [P1, 16n * E18 - (16n * E18) / 100n],
      ]);
      expect(job.slashes).to.deep.equal([
        {
          provider: P3,
          groupId: 0,
          amount: 5n * E18,
          reason: "WrongResult",
          timestamp: BigInt(T0 + 5001),
        },
      ]);
      expect(job.flows.map((f) => f.kind)).to.have.members(["EscrowDeposit", "Refund", "Payment"]);
    });

    it("returns null for a job the subgraph does not know", async () => {
      expect(await getJob(subgraph, "99")).to.equal(null);
    });
  });

  describe("listJobs", () => {
    it("lists jobs newest first and filters by status and requester in any case", async () => {
      expect((await listJobs(subgraph)).map((j) => j.id)).to.deep.equal(["2", "1"]);
      expect((await listJobs(subgraph, { status: "Open" })).map((j) => j.id)).to.deep.equal(["2"]);
      const mine = await listJobs(subgraph, {
        requester: REQUESTER.toUpperCase().replace("0X", "0x"),
      });
      expect(mine).to.have.length(2);
      expect(await listJobs(subgraph, { requester: P1 })).to.deep.equal([]);
      expect((await listJobs(subgraph, { first: 1, skip: 1 })).map((j) => j.id)).to.deep.equal([
        "1",
      ]);
    });
  });

  describe("getProvider / listProviders", () => {
    it("returns a provider's stake, work, earnings, slashes and recent bids", async () => {
      const p = await getProvider(subgraph, P1.toUpperCase().replace("0X", "0x"));
      expect(p?.stake).to.equal(1000n * E18);
      expect(p?.successRate).to.equal("0.75");
      expect(p?.netEarnings).to.equal((297n * E18) / 10n);
      expect(p?.recentBids.map((b) => b.jobId)).to.deep.equal(["2", "1"]);
      const p3 = await getProvider(subgraph, P3);
      expect(p3?.recentSlashes.map((s) => [s.jobId, s.reason])).to.deep.equal([
        ["1", "WrongResult"],
      ]);
      expect(await getProvider(subgraph, `0x${"00".repeat(20)}`)).to.equal(null);
    });

    it("ranks providers by stake or by completed tasks", async () => {
      expect((await listProviders(subgraph)).map((p) => p.id)).to.deep.equal([P1, P3, P2]);
      const byTasks = await listProviders(subgraph, { orderBy: "tasksCompleted", first: 2 });
      expect(byTasks.map((p) => p.id)).to.deep.equal([P1, P2]);
    });
  });

  describe("getNetworkStats / getNetworkDays / getMeta", () => {
    it("returns network totals, the latest days first, and the indexed block", async () => {
      const stats = await getNetworkStats(subgraph);
      expect(stats?.jobCount).to.equal(2);
      expect(stats?.volumeEscrowed).to.equal(90n * E18);
      expect(stats?.totalStaked).to.equal(2250n * E18);
      const days = await getNetworkDays(subgraph, 5);
      expect(days.map((d) => d.day)).to.deep.equal([DAY + 1, DAY]);
      expect(days[1]?.volumeEscrowed).to.equal(60n * E18);
      expect((await getNetworkDays(subgraph, 1)).map((d) => d.day)).to.deep.equal([DAY + 1]);
      expect(await getMeta(subgraph)).to.deep.equal({
        block: { number: 41, hash: `0x${"41".repeat(32)}`, timestamp: T0 },
        deployment: "QmConunFixture",
        hasIndexingErrors: false,
      });
    });
  });

  describe("SubgraphQueryError", () => {
    it("names the URL when nothing listens there", async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const url = `http://127.0.0.1:${port}/subgraphs/name/conun`;
      const err = await failure(getMeta(createSubgraphClient(url)));
      expect(err.code).to.equal("subgraph-unreachable");
      expect(err.message).to.contain(url).and.to.contain("ECONNREFUSED");
    });

    it("reports a wrong subgraph name as not found", async () => {
      const url = fixture.server.url.replace(/conun$/, "other");
      const err = await failure(getMeta(createSubgraphClient(url)));
      expect(err.code).to.equal("subgraph-not-found");
      expect(err.url).to.equal(url);
    });

    it("carries the server's GraphQL error messages", async () => {
      const err = await failure(listJobs(subgraph, { first: 5000 }));
      expect(err.code).to.equal("subgraph-query-failed");
      expect(err.message).to.match(/`first` argument must be between 0 and 1000/);
    });

    it("gives up after the timeout when the server never answers", async () => {
      const silent: Server = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      try {
        const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/subgraphs/name/x`;
        const started = Date.now();
        const err = await failure(getMeta(createSubgraphClient(url, { timeoutMs: 200 })));
        expect(err.code).to.equal("subgraph-timeout");
        expect(Date.now() - started).to.be.below(3000);
      } finally {
        silent.closeAllConnections();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });

  describe("SubgraphDataError", () => {
    it("names the entity and field of a BigInt the subgraph sent malformed", async () => {
      // A server that answers like a subgraph but with a provider whose stake is not an integer.
      const [provider] = await listProviders(subgraph, { first: 1 });
      if (provider === undefined) throw new Error("the fixture indexed no provider");
      const wire = Object.fromEntries(
        Object.entries(provider).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]),
      );
      const liar: Server = createServer((_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ data: { providers: [{ ...wire, stake: "1.5" }] } }));
      });
      await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
      try {
        const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}/subgraphs/name/x`;
        const err = await listProviders(createSubgraphClient(url)).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(SubgraphDataError);
        expect((err as SubgraphDataError).code).to.equal("subgraph-bad-value");
        expect((err as Error).message).to.equal("Provider.stake is not an integer: 1.5");
      } finally {
        await new Promise((resolve) => liar.close(resolve));
      }
    });
  });
});
