/**
 * The host's GraphQL HTTP endpoint, shaped like graph-node's query node:
 * `POST /subgraphs/name/<name>` with `{ query, variables, operationName }` (also GET with
 * `?query=`), and `/subgraphs/id/<deployment>`, for one subgraph or several on one port. GraphQL-level failures (syntax, validation,
 * execution) are 200 responses with `errors`, as graph-node sends them; HTTP-level ones are
 * 400 (malformed JSON, no query), 404 (unknown subgraph), 405, 413 (body over the limit).
 * CORS is open so the dApp can query from a browser. Binds to 127.0.0.1 unless told otherwise.
 *
 *   const server = await startGraphqlServer({ store, schemaSource, subgraphName: "conun",
 *     port: 8000 });
 *   server.url // http://127.0.0.1:8000/subgraphs/name/conun
 *   await server.close();
 *
 *   // several subgraphs, one port:
 *   await startGraphqlServer({ subgraphs: [{ store, schemaSource, name: "a", deployment }, …] });
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { GraphQLSchema } from "graphql";
import { errorClass } from "../../sdk/errors.ts";
import type { Logger } from "../../sdk/logger.ts";
import { silentLogger } from "../../sdk/logger.ts";
import {
  buildApiSchema,
  executeGraphql,
  type GraphqlRequest,
  type QueryableStore,
  type QueryContext,
} from "./graphql/index.ts";
import { parseSubgraphSchema, type SubgraphSchema } from "./store/index.ts";

declare module "../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"graphql-server", GraphqlServerError> {}
}

/** `graphql-listen-failed`, or a request refused with an HTTP status (see HttpError). */
// biome-ignore format: a domain's codes stay on one line
export class GraphqlServerError extends errorClass("graphql-server", ["graphql-listen-failed", "graphql-bad-request", "graphql-not-found", "graphql-method-not-allowed", "graphql-body-too-large", "graphql-subgraphs-invalid"]) {}

/** One subgraph the server answers for. */
export interface ServedSubgraph {
  store: QueryableStore;
  /** The subgraph's schema.graphql text (or the parsed model). */
  schemaSource: string | SubgraphSchema;
  /** Served at /subgraphs/name/<name>. */
  name: string;
  /** What `_meta.deployment` reports and `/subgraphs/id/<deployment>` answers to; default the name. */
  deployment?: string;
  /** See QueryContext.nonFatalErrors; default false (errors halt indexing). */
  nonFatalErrors?: boolean;
}

export interface GraphqlServerOptions {
  /** The single-subgraph form: `store`, `schemaSource`, `subgraphName`, `deployment`. */
  store?: QueryableStore;
  schemaSource?: string | SubgraphSchema;
  subgraphName?: string;
  deployment?: string;
  /** Several subgraphs on one port (instead of the single-subgraph fields). */
  subgraphs?: ServedSubgraph[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** See QueryContext.nonFatalErrors; default false (errors halt indexing). */
  nonFatalErrors?: boolean;
}

export interface GraphqlServer {
  /** The (first) subgraph's query URL, e.g. http://127.0.0.1:8000/subgraphs/name/conun. */
  url: string;
  /** `http://<host>:<port>`, to which `/subgraphs/name/<name>` and `/subgraphs/id/<id>` are added. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "content-type, accept, authorization",
  "access-control-max-age": "600",
};

const HTTP_ERROR_CODES = {
  400: "graphql-bad-request",
  404: "graphql-not-found",
  405: "graphql-method-not-allowed",
  413: "graphql-body-too-large",
} as const;

/** A request refused with an HTTP status (the body says why in GraphQL's error shape). */
class HttpError extends GraphqlServerError {
  readonly status: keyof typeof HTTP_ERROR_CODES;
  constructor(status: keyof typeof HTTP_ERROR_CODES, message: string) {
    super(HTTP_ERROR_CODES[status], message);
    this.status = status;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...CORS,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      reject(new HttpError(413, `request body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `request body is larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseRequest(value: unknown): GraphqlRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "the request body must be a JSON object");
  const { query, variables, operationName } = value as Record<string, unknown>;
  if (typeof query !== "string" || query.trim() === "")
    throw new HttpError(400, "the request has no `query` string");
  if (variables !== undefined && variables !== null && typeof variables !== "object")
    throw new HttpError(400, "`variables` must be a JSON object");
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string")
    throw new HttpError(400, "`operationName` must be a string");
  return {
    query,
    variables: (variables as Record<string, unknown> | null) ?? null,
    operationName: (operationName as string | null) ?? null,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `malformed JSON: ${(err as Error).message}`);
  }
}

interface Route {
  subgraph: ServedSubgraph;
  schema: GraphQLSchema;
  context: QueryContext;
}

/** The subgraphs of `options`, in either form, checked for clashing names and deployments. */
function servedSubgraphs(options: GraphqlServerOptions): ServedSubgraph[] {
  if (options.subgraphs !== undefined) {
    if (options.store !== undefined || options.subgraphName !== undefined) {
      throw new GraphqlServerError(
        "graphql-subgraphs-invalid",
        "pass either `subgraphs` or `store`/`schemaSource`/`subgraphName`, not both",
      );
    }
    if (options.subgraphs.length === 0)
      throw new GraphqlServerError("graphql-subgraphs-invalid", "`subgraphs` is empty");
    return options.subgraphs;
  }
  if (
    options.store === undefined ||
    options.schemaSource === undefined ||
    options.subgraphName === undefined
  ) {
    throw new GraphqlServerError(
      "graphql-subgraphs-invalid",
      "`store`, `schemaSource` and `subgraphName` are required without `subgraphs`",
    );
  }
  return [
    {
      store: options.store,
      schemaSource: options.schemaSource,
      name: options.subgraphName,
      deployment: options.deployment,
      nonFatalErrors: options.nonFatalErrors,
    },
  ];
}

function buildRoutes(subgraphs: ServedSubgraph[], defaultNonFatal: boolean): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const subgraph of subgraphs) {
    const model =
      typeof subgraph.schemaSource === "string"
        ? parseSubgraphSchema(subgraph.schemaSource)
        : subgraph.schemaSource;
    const context: QueryContext = {
      store: subgraph.store,
      subgraphName: subgraph.name,
      deployment: subgraph.deployment ?? subgraph.name,
      nonFatalErrors: subgraph.nonFatalErrors ?? defaultNonFatal,
    };
    const route: Route = { subgraph, schema: buildApiSchema(model), context };
    for (const path of [
      `/subgraphs/name/${subgraph.name}`,
      `/subgraphs/id/${context.deployment}`,
    ]) {
      const taken = routes.get(path);
      // A name equal to its deployment (the default) is one subgraph, not a clash.
      if (taken !== undefined && taken.subgraph !== subgraph) {
        throw new GraphqlServerError(
          "graphql-subgraphs-invalid",
          `${path} would serve both "${taken.subgraph.name}" and "${subgraph.name}": give each subgraph its own name and build`,
        );
      }
      routes.set(path, route);
    }
  }
  return routes;
}

export async function startGraphqlServer(options: GraphqlServerOptions): Promise<GraphqlServer> {
  const log = (options.logger ?? silentLogger).child("graphql");
  const subgraphs = servedSubgraphs(options);
  const routes = buildRoutes(subgraphs, options.nonFatalErrors ?? false);
  const limit = options.maxBodyBytes ?? 1024 * 1024;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS);
      res.end();
      return;
    }
    const path = url.pathname.replace(/\/+$/, "");
    const route = routes.get(path);
    if (route === undefined) {
      const what = path.startsWith("/subgraphs/") ? "subgraph" : "path";
      let shown = path || "/";
      try {
        shown = decodeURIComponent(shown);
      } catch {
        // keep the raw path: it was not valid percent-encoding
      }
      throw new HttpError(404, `${what} not found: ${shown}`);
    }
    let request: GraphqlRequest;
    if (req.method === "POST") {
      request = parseRequest(parseJson(await readBody(req, limit)));
    } else if (req.method === "GET") {
      const query = url.searchParams.get("query");
      if (query === null) {
        const text = `CONUN embedded subgraph host: subgraph "${route.subgraph.name}" (deployment ${route.context.deployment}).\nPOST GraphQL queries ({ "query": "{ _meta { block { number } } }" }) to this URL.\n`;
        res.writeHead(200, { ...CORS, "content-type": "text/plain; charset=utf-8" });
        res.end(text);
        return;
      }
      const variables = url.searchParams.get("variables");
      request = parseRequest({
        query,
        variables: variables ? parseJson(variables) : null,
        operationName: url.searchParams.get("operationName"),
      });
    } else {
      throw new HttpError(405, `method ${req.method} is not allowed`);
    }
    const started = performance.now();
    const result = executeGraphql(route.schema, route.context, request);
    log.debug("query", {
      ms: Math.round((performance.now() - started) * 100) / 100,
      subgraph: route.subgraph.name,
      errors: result.errors?.length ?? 0,
    });
    send(res, 200, result);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        send(res, err.status, { errors: [{ message: err.message }] });
        return;
      }
      log.error("request failed", { error: err });
      send(res, 500, { errors: [{ message: "internal error" }] });
    });
  });
  // Bound every client: a stalled upload or idle keep-alive cannot hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new GraphqlServerError(
          "graphql-listen-failed",
          `cannot listen on ${host}:${options.port ?? 0}`,
          {
            cause: err,
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const origin = `http://${urlHost}:${port}`;
  const url = `${origin}/subgraphs/name/${subgraphs[0]?.name}`;
  for (const subgraph of subgraphs) {
    log.info("serving GraphQL", {
      url: `${origin}/subgraphs/name/${subgraph.name}`,
      deployment: subgraph.deployment ?? subgraph.name,
    });
  }
  return {
    url,
    origin,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
