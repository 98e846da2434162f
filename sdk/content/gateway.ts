/**
 * An HTTP gateway in front of a ContentStore, for browsers (the dApp) and any HTTP client:
 *
 *   GET|HEAD /ipfs/<cid>          a file's bytes, streamed and verified block by block; for a
 *                                 directory, a JSON listing of every entry below it
 *   GET|HEAD /ipfs/<cid>/<path>   a file (or sub-directory listing) inside a directory
 *   POST     /upload              stores the request body as one file, answers { cid, size }
 *
 * The path shape is an IPFS gateway's, so a URL that works here works on any public gateway
 * for file CIDs. It is meant for loopback use: uploads are accepted only from the origins the
 * caller lists (browsers send `Origin` on cross-origin POSTs, and a text/plain POST needs no
 * preflight, so the check happens on the request itself, not only in the CORS answer).
 *
 * Directories are exported once (verified) into a private cache directory and served from
 * there: the ContentStore contract reads files, not directory entries, and a results bundle —
 * the directory a browser needs — is small. Errors are JSON `{ error: { code, message } }`:
 * 400 invalid CID or path, 404 not found, 413 upload too large, 502 content that fails
 * verification, 500 anything else.
 */
import { createReadStream } from "node:fs";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { parseCid } from "./cid.ts";
import { ContentError, GatewayError } from "./errors.ts";
import type { ContentStore } from "./types.ts";

export interface ContentGatewayOptions {
  store: ContentStore;
  log: Logger;
  /** Default 127.0.0.1: the upload endpoint must not face a network. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Origins (e.g. `http://127.0.0.1:5173`) allowed to upload; reads are open to any origin. */
  uploadOrigins?: readonly string[];
  /** Largest accepted upload; default 64 MiB. */
  maxUploadBytes?: number;
  /** Bound on one request's store work (reads, exports, uploads); default 60 s. */
  requestTimeoutMs?: number;
}

export interface ContentGateway {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** One entry of a directory listing (paths relative to the listed directory, POSIX). */
export interface GatewayListingEntry {
  path: string;
  type: "file" | "directory";
  /** Bytes, for files. */
  size?: number;
}

export interface GatewayListing {
  cid: string;
  path: string;
  type: "directory";
  entries: GatewayListingEntry[];
}

export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ppm": "image/x-portable-pixmap",
};

/** Starts the gateway; resolves once it listens. */
export async function startContentGateway(options: ContentGatewayOptions): Promise<ContentGateway> {
  const log = options.log.child("gateway");
  const store = options.store;
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const uploadOrigins = new Set(options.uploadOrigins ?? []);
  const cacheRoot = await mkdtemp(join(tmpdir(), "conun-gateway-"));
  // Exports in flight or done, by CID: concurrent requests for one bundle share one export.
  const exports = new Map<string, Promise<string | null>>();
  let exportCount = 0;

  /** The verified local copy of a directory, or null when the CID is a file. */
  function directoryCopy(cid: string, signal: AbortSignal): Promise<string | null> {
    let running = exports.get(cid);
    if (running === undefined) {
      const destination = join(cacheRoot, String(exportCount++));
      running = store.exportTo(cid, destination, { signal }).then(
        async (written) => {
          if (written.kind === "directory") return destination;
          await rm(destination, { force: true });
          return null;
        },
        (error: unknown) => {
          exports.delete(cid);
          throw error;
        },
      );
      exports.set(cid, running);
    }
    return running;
  }

  function cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    res.setHeader("Vary", "Origin");
    if (req.method === "POST" || req.method === "OPTIONS") {
      if (origin !== undefined && uploadOrigins.has(origin)) {
        res.setHeader("Access-Control-Allow-Origin", origin);
        res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
        res.setHeader("Access-Control-Allow-Headers", "Content-Type");
        res.setHeader("Access-Control-Max-Age", "600");
      } else if (req.method === "OPTIONS") {
        res.setHeader("Access-Control-Allow-Origin", "*");
        res.setHeader("Access-Control-Allow-Methods", "GET, HEAD");
      }
      return;
    }
    // Content is public and addressed by its hash: any page may read it.
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Expose-Headers", "X-Conun-Content, ETag");
  }

  async function serveContent(
    req: IncomingMessage,
    res: ServerResponse,
    rest: string,
    signal: AbortSignal,
  ): Promise<void> {
    const [cidText = "", ...segments] = rest.split("/");
    const cid = (() => {
      try {
        return parseCid(cidText).toString();
      } catch (cause) {
        throw new ContentError("invalid-cid", describeError(cause), { cause });
      }
    })();
    const parts = segments.filter((s) => s !== "").map((s) => decodeSegment(s));
    if (parts.some((p) => p === "." || p === ".." || p.includes("/") || p.includes("\0"))) {
      throw new GatewayError(400, "invalid-path", `unsafe path in ${rest}`);
    }
    if (!(await store.has(cid))) {
      throw new ContentError("content-not-found", `${cid} is not in the store`);
    }
    const head = req.method === "HEAD";
    if (parts.length === 0) {
      const served = await tryServeFile(res, cid, head, signal);
      if (served) return;
    }
    const root = await directoryCopy(cid, signal);
    if (root === null) {
      throw new ContentError("content-not-found", `${cid} is a file: it has no path ${rest}`);
    }
    const target = join(root, ...parts);
    const info = await lstat(target).catch(() => null);
    if (info === null) {
      throw new ContentError("content-not-found", `no ${parts.join("/")} in ${cid}`);
    }
    const immutable = { ETag: `"${cid}/${parts.join("/")}"`, "Cache-Control": cacheControl };
    if (info.isDirectory()) {
      const listing: GatewayListing = {
        cid,
        path: parts.join("/"),
        type: "directory",
        entries: await listTree(target),
      };
      const body = Buffer.from(`${JSON.stringify(listing)}\n`);
      res.writeHead(200, {
        ...immutable,
        "Content-Type": "application/json",
        "Content-Length": body.length,
        "X-Conun-Content": "directory",
      });
      res.end(head ? undefined : body);
      return;
    }
    res.writeHead(200, {
      ...immutable,
      "Content-Type": contentTypeOf(target),
      "Content-Length": info.size,
      "X-Conun-Content": "file",
    });
    if (head) {
      res.end();
      return;
    }
    // The copy was verified as it was exported, and the cache is private to this process.
    await pipeTo(createReadStream(target), res);
  }

  /**
   * Streams `cid` as a file. Returns false (having written nothing) when it is not a file, so
   * the caller can try it as a directory. Headers go out only once the first verified chunk
   * is in hand, so a missing or corrupt first block still gets a proper status; corruption
   * found later can only be signalled by cutting the response short.
   */
  async function tryServeFile(
    res: ServerResponse,
    cid: string,
    head: boolean,
    signal: AbortSignal,
  ): Promise<boolean> {
    const chunks = store.stream(cid, { signal })[Symbol.asyncIterator]();
    let first: IteratorResult<Uint8Array>;
    try {
      first = await chunks.next();
    } catch (error) {
      if (error instanceof ContentError && error.code === "content-unsupported") return false;
      throw error;
    }
    res.writeHead(200, {
      ETag: `"${cid}"`,
      "Cache-Control": cacheControl,
      "Content-Type": "application/octet-stream",
      "X-Conun-Content": "file",
    });
    if (head) {
      await chunks.return?.();
      res.end();
      return true;
    }
    try {
      if (!first.done) await write(res, first.value);
      for (;;) {
        const next = await chunks.next();
        if (next.done) break;
        await write(res, next.value);
      }
      res.end();
    } catch (error) {
      log.warn("file stream aborted", { cid, error: describeError(error) });
      res.destroy(error as Error);
    }
    return true;
  }

  async function upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && !uploadOrigins.has(origin)) {
      throw new GatewayError(403, "origin-not-allowed", `uploads from ${origin} are not allowed`);
    }
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > maxUploadBytes) {
      throw new GatewayError(
        413,
        "upload-too-large",
        `upload of ${declared} bytes exceeds the limit of ${maxUploadBytes}`,
      );
    }
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxUploadBytes) {
        throw new GatewayError(
          413,
          "upload-too-large",
          `upload exceeds the limit of ${maxUploadBytes} bytes`,
        );
      }
      parts.push(chunk);
    }
    const cid = await store.addBytes(Buffer.concat(parts, size));
    log.info("upload stored", { cid, size });
    const body = Buffer.from(`${JSON.stringify({ cid, size })}\n`);
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": body.length });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    cors(req, res);
    if (req.method === "OPTIONS") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname.startsWith("/ipfs/")) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        throw new GatewayError(405, "method-not-allowed", `${req.method} is not allowed on /ipfs`);
      }
      await serveContent(req, res, url.pathname.slice("/ipfs/".length), signal);
      return;
    }
    if (url.pathname === "/upload") {
      if (req.method !== "POST") {
        throw new GatewayError(405, "method-not-allowed", "use POST to upload");
      }
      await upload(req, res);
      return;
    }
    throw new GatewayError(404, "not-found", `no route ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const { status, code, message } = classify(error);
      if (status >= 500) log.warn("request failed", { url: req.url, code, error: message });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = Buffer.from(`${JSON.stringify({ error: { code, message } })}\n`);
      // An upload refused half-way leaves unread body bytes: close rather than reuse the socket.
      res.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": body.length,
        ...(req.method === "POST" ? { Connection: "close" } : {}),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info("content gateway listening", { url });
  return {
    url,
    port: address.port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(cacheRoot, { recursive: true, force: true });
    },
  };
}

const cacheControl = "public, max-age=31536000, immutable";

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new GatewayError(400, "invalid-path", `bad escape in path segment ${segment}`, { cause });
  }
}

function contentTypeOf(path: string): string {
  // Never text/html: the gateway must not run scripts from stored content in its origin.
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

function classify(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof GatewayError)
    return { status: error.status, code: error.code, message: error.message };
  if (error instanceof ContentError) {
    const status =
      error.code === "invalid-cid"
        ? 400
        : error.code === "content-not-found"
          ? 404
          : error.code === "content-mismatch"
            ? 502
            : error.code === "content-too-large"
              ? 413
              : 500;
    return { status, code: error.code, message: error.message };
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { status: 504, code: "gateway-timeout", message: "the store did not answer in time" };
  }
  return { status: 500, code: "internal-error", message: describeError(error) };
}

/** Every entry below `dir`, depth first, sorted by path. */
async function listTree(dir: string, prefix = ""): Promise<GatewayListingEntry[]> {
  const out: GatewayListingEntry[] = [];
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const full = join(dir, name);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const info = await lstat(full);
    if (info.isDirectory()) {
      out.push({ path, type: "directory" });
      out.push(...(await listTree(full, path)));
    } else {
      out.push({ path, type: "file", size: info.size });
    }
  }
  return out;
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    res.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

async function pipeTo(source: AsyncIterable<Buffer>, res: ServerResponse): Promise<void> {
  for await (const chunk of source) await write(res, chunk);
  res.end();
}
