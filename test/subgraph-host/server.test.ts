import { join } from "node:path";
import { expect } from "chai";
import { GraphQLClient } from "graphql-request";
import { type GraphqlServer, startGraphqlServer } from "../../subgraph-host/src/server.ts";
import { openSqliteStore, type SqliteStore } from "../../subgraph-host/src/store/index.ts";
import { hash, owner, TEST_SCHEMA, tempDir } from "./store-fixtures.ts";

function ownerId(n: number): string {
  return `0x${n.toString(16).padStart(40, "0")}`;
}

describe("startGraphqlServer", () => {
  let store: SqliteStore;
  let server: GraphqlServer;
  let cleanup: () => void;
  const base = () => server.url.replace(/\/subgraphs\/name\/test$/, "");

  before(async () => {
    const tmp = tempDir("conun-server-");
    cleanup = tmp.cleanup;
    store = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
    store.beginBlock({ number: 10, hash: hash(10), timestamp: 100 });
    for (let n = 1; n <= 150; n++) store.set("Owner", ownerId(n), owner(ownerId(n), `o${n}`, n));
    store.commitBlock();
    server = await startGraphqlServer({
      store,
      schemaSource: TEST_SCHEMA,
      subgraphName: "test",
      deployment: "QmDeployment",
      maxBodyBytes: 4096,
    });
  });
  after(async () => {
    await server.close();
    store.close();
    cleanup();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(base() + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(5000),
    });

  it("listens on 127.0.0.1 at graph-node's path for the subgraph name", () => {
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/subgraphs\/name\/test$/);
  });

  it("returns 100 entities when first is not given", async () => {
    const client = new GraphQLClient(server.url);
    const res = await client.request<{ owners: unknown[] }>("{ owners { id } }");
    expect(res.owners).to.have.length(100);
  });

  it("answers GET requests with a query parameter, and by deployment id", async () => {
    const q = encodeURIComponent("{ _meta { block { number } } }");
    const res = await fetch(`${server.url}?query=${q}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ data: { _meta: { block: { number: 10 } } } });
    const byId = await post(
      "/subgraphs/id/QmDeployment",
      JSON.stringify({ query: "{ _meta { deployment } }" }),
    );
    expect(await byId.json()).to.deep.equal({ data: { _meta: { deployment: "QmDeployment" } } });
  });

  it("serves a plain info page on GET without a query", async () => {
    const res = await fetch(server.url, { signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain('subgraph "test"');
  });

  it("answers 404 for an unknown subgraph name", async () => {
    const res = await post("/subgraphs/name/other", JSON.stringify({ query: "{ owners { id } }" }));
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({
      errors: [{ message: "subgraph not found: /subgraphs/name/other" }],
    });
    const garbled = await post("/subgraphs/name/%E0%A4%A", JSON.stringify({ query: "{ x }" }));
    expect(garbled.status, "a malformed path is still just not found").to.equal(404);
  });

  it("answers 400 for malformed JSON or a missing query", async () => {
    const bad = await post("/subgraphs/name/test", "{ not json");
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { errors: { message: string }[] }).errors[0]?.message).to.match(
      /malformed JSON/,
    );
    const none = await post("/subgraphs/name/test", JSON.stringify({ variables: {} }));
    expect(none.status).to.equal(400);
    expect(((await none.json()) as { errors: { message: string }[] }).errors[0]?.message).to.match(
      /no `query`/,
    );
  });

  it("answers 413 for a body over the size limit", async () => {
    const res = await post(
      "/subgraphs/name/test",
      JSON.stringify({ query: `{ owners { id } } # ${"x".repeat(5000)}` }),
    );
    expect(res.status).to.equal(413);
  });

  it("sends GraphQL errors with status 200 and locations, like graph-node", async () => {
    const res = await post(
      "/subgraphs/name/test",
      JSON.stringify({ query: "{ owners { nope } }" }),
    );
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { data?: unknown; errors: { locations: unknown[] }[] };
    expect(body.data).to.equal(undefined);
    expect(body.errors[0]?.locations).to.deep.equal([{ line: 1, column: 12 }]);
  });

  it("allows browsers from any origin (CORS preflight and response headers)", async () => {
    const pre = await fetch(server.url, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
      signal: AbortSignal.timeout(5000),
    });
    expect(pre.status).to.equal(204);
    expect(pre.headers.get("access-control-allow-origin")).to.equal("*");
    expect(pre.headers.get("access-control-allow-headers")).to.contain("content-type");
    const res = await post(
      "/subgraphs/name/test",
      JSON.stringify({ query: "{ owners(first: 1) { id } }" }),
      {
        origin: "http://localhost:5173",
      },
    );
    expect(res.headers.get("access-control-allow-origin")).to.equal("*");
  });

  it("reports an error for _meta before the first block, and empty collections", async () => {
    const tmp = tempDir("conun-server-empty-");
    const empty = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
    const fresh = await startGraphqlServer({
      store: empty,
      schemaSource: TEST_SCHEMA,
      subgraphName: "fresh",
    });
    try {
      const client = new GraphQLClient(fresh.url);
      expect(await client.request("{ owners { id } }")).to.deep.equal({ owners: [] });
      const err = await client.request("{ _meta { block { number } } }").catch((e: Error) => e);
      expect(String(err)).to.match(/has not indexed any block yet/);
      const both = await client
        .request('{ owners(block: { number: 1, hash: "0x00" }) { id } }')
        .catch((e: Error) => e);
      expect(String(both)).to.match(/exactly one of/);
    } finally {
      await fresh.close();
      empty.close();
      tmp.cleanup();
    }
  });

  it("rejects other methods with 405", async () => {
    const res = await fetch(server.url, { method: "PUT", signal: AbortSignal.timeout(5000) });
    expect(res.status).to.equal(405);
  });

  it("fails queries while the indexer skips failed handlers, unless subgraphError: allow", async () => {
    const lenient = await startGraphqlServer({
      store,
      schemaSource: TEST_SCHEMA,
      subgraphName: "lenient",
      nonFatalErrors: true,
    });
    const tmpBlock = { number: 10, hash: hash(10) };
    try {
      const client = new GraphQLClient(lenient.url);
      expect(
        (await client.request<{ owners: unknown[] }>("{ owners(first: 1) { id } }")).owners,
      ).to.have.length(1);
      store.recordIndexingError(tmpBlock, "handler failed");
      const denied = await client.request("{ owners(first: 1) { id } }").then(
        () => "ok",
        (err: Error) => err.message,
      );
      expect(denied).to.match(/indexing_error/);
      const allowed = await client.request<{ owners: unknown[]; _meta: unknown }>(
        "{ owners(first: 1, subgraphError: allow) { id } _meta { hasIndexingErrors } }",
      );
      expect(allowed._meta).to.deep.equal({ hasIndexingErrors: true });
    } finally {
      await lenient.close();
    }
  });

  it("serves several subgraphs on one port, each by name and by deployment", async () => {
    const tmp = tempDir("conun-server-two-");
    const other = openSqliteStore({ path: join(tmp.dir, "db.sqlite"), schema: TEST_SCHEMA });
    other.beginBlock({ number: 3, hash: hash(3), timestamp: 30 });
    other.set("Owner", ownerId(1), owner(ownerId(1), "other", 1));
    other.commitBlock();
    const both = await startGraphqlServer({
      subgraphs: [
        { store, schemaSource: TEST_SCHEMA, name: "test", deployment: "QmFirst" },
        { store: other, schemaSource: TEST_SCHEMA, name: "team/other", deployment: "QmSecond" },
      ],
    });
    try {
      expect(both.url).to.equal(`${both.origin}/subgraphs/name/test`);
      const query = `{ _meta { block { number } deployment } owner(id: "${ownerId(1)}") { name } }`;
      const answers: Record<string, unknown> = {};
      for (const path of [
        "/subgraphs/name/test",
        "/subgraphs/id/QmFirst",
        "/subgraphs/name/team/other",
        "/subgraphs/id/QmSecond",
      ]) {
        answers[path] = await new GraphQLClient(both.origin + path).request(query);
      }
      const first = {
        _meta: { block: { number: 10 }, deployment: "QmFirst" },
        owner: { name: "o1" },
      };
      const second = {
        _meta: { block: { number: 3 }, deployment: "QmSecond" },
        owner: { name: "other" },
      };
      expect(answers).to.deep.equal({
        "/subgraphs/name/test": first,
        "/subgraphs/id/QmFirst": first,
        "/subgraphs/name/team/other": second,
        "/subgraphs/id/QmSecond": second,
      });
      const unknown = await fetch(`${both.origin}/subgraphs/name/team`, {
        method: "POST",
        body: JSON.stringify({ query: "{ _meta { deployment } }" }),
        signal: AbortSignal.timeout(5000),
      });
      expect(unknown.status).to.equal(404);
    } finally {
      await both.close();
      other.close();
      tmp.cleanup();
    }
  });

  it("refuses two subgraphs at one path", async () => {
    const clash = await startGraphqlServer({
      subgraphs: [
        { store, schemaSource: TEST_SCHEMA, name: "a", deployment: "QmSame" },
        { store, schemaSource: TEST_SCHEMA, name: "b", deployment: "QmSame" },
      ],
    }).catch((error: Error & { code?: string }) => error);
    expect(clash).to.be.instanceOf(Error);
    expect((clash as Error & { code?: string }).code).to.equal("graphql-subgraphs-invalid");
    expect((clash as Error).message).to.equal(
      '/subgraphs/id/QmSame would serve both "a" and "b": give each subgraph its own name and build',
    );
  });
});
