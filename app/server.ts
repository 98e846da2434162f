/**
 * Serves the built dApp (app/dist) and its /config.json on loopback. Used by `npm run demo`,
 * app/serve.ts and the browser tests:
 *
 *   const app = await startAppServer({ port: 0, config: { chainId, rpcUrl, addresses,
 *     subgraphUrl, gatewayUrl } });
 *   console.log(app.url); ... await app.close();
 *
 * The app is built first when app/dist is missing or older than its sources (or `build: true`),
 * so a fresh clone works and a pulled change is never served from an old build.
 * The Content-Security-Policy lets the page talk only to its own origin and the three
 * endpoints of the config.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { errorClass } from "../sdk/errors.ts";
import type { Logger } from "../sdk/logger.ts";
import type { AppConfig } from "./src/config.ts";

export const APP_DIR = import.meta.dirname;
export const DIST_DIR = path.join(APP_DIR, "dist");

export class AppServerError extends errorClass("app-server", ["app-server-listen"]) {}

declare module "../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"app-server", AppServerError> {}
}

/** What the browser reads from /config.json: the app validates it in app/src/config.ts. */
export type AppServerConfig = AppConfig;

export interface StartAppServerOptions {
  config: AppServerConfig;
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Build even if app/dist is up to date (default: only when missing or stale). */
  build?: boolean;
  distDir?: string;
  log?: Logger;
}

export interface AppServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** Builds the app with Vite into app/dist (a few seconds). */
export async function buildApp(log?: Logger): Promise<void> {
  log?.info("building the dApp", { dir: APP_DIR });
  const { build } = await import("vite");
  await build({ configFile: path.join(APP_DIR, "vite.config.ts"), logLevel: "warn" });
}

/** What the bundle is built from: the app's own files, the SDK and the TypeChain types. */
const SOURCES = ["src", "index.html", "vite.config.ts", "../sdk", "../types/ethers-contracts"].map(
  (p) => path.join(APP_DIR, p),
);

/** The newest modification time under `file` (a file or a folder), 0 when it does not exist. */
async function newestMtime(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(file)) {
    newest = Math.max(newest, await newestMtime(path.join(file, entry)));
  }
  return newest;
}

/** True when `dist` has no build, or one older than a source it is built from. */
export async function buildIsStale(dist: string = DIST_DIR): Promise<boolean> {
  const built = await stat(path.join(dist, "index.html")).catch(() => undefined);
  if (built === undefined) return true;
  for (const source of SOURCES) if ((await newestMtime(source)) > built.mtimeMs) return true;
  return false;
}

function originOf(url: string): string {
  return new URL(url).origin;
}

export async function startAppServer(options: StartAppServerOptions): Promise<AppServer> {
  const dist = options.distDir ?? DIST_DIR;
  const stale =
    options.distDir === undefined
      ? await buildIsStale(dist)
      : !existsSync(path.join(dist, "index.html"));
  if (options.build === true || stale) {
    await buildApp(options.log);
  }
  const config = options.config;
  const configBody = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  const endpoints = [config.rpcUrl, config.subgraphUrl, config.gatewayUrl].map(originOf);
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${originOf(config.gatewayUrl)}`,
    `connect-src 'self' ${[...new Set(endpoints)].join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const headers = {
    "Content-Security-Policy": csp,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };

  function send(res: ServerResponse, status: number, type: string, body: Buffer, cache: string) {
    res.writeHead(status, {
      ...headers,
      "Content-Type": type,
      "Content-Length": body.length,
      "Cache-Control": cache,
    });
    res.end(body);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://app.invalid");
      if (req.method !== "GET" && req.method !== "HEAD") {
        send(res, 405, "text/plain", Buffer.from("method not allowed\n"), "no-store");
        return;
      }
      if (url.pathname === "/config.json") {
        send(res, 200, "application/json", configBody, "no-store");
        return;
      }
      const relative = decodeURIComponent(url.pathname).replace(/^\/+/, "");
      const file = path.join(dist, relative === "" ? "index.html" : relative);
      if (!file.startsWith(dist + path.sep) && file !== dist) {
        send(res, 400, "text/plain", Buffer.from("bad path\n"), "no-store");
        return;
      }
      const info = await stat(file).catch(() => null);
      if (info === null || !info.isFile()) {
        send(res, 404, "text/plain", Buffer.from("not found\n"), "no-store");
        return;
      }
      const body = await readFile(file);
      // Vite fingerprints assets: they never change under one name.
      const cache = relative.startsWith("assets/")
        ? "public, max-age=31536000, immutable"
        : "no-cache";
      send(res, 200, TYPES[path.extname(file)] ?? "application/octet-stream", body, cache);
    })().catch((error: unknown) => {
      options.log?.warn("app server request failed", { url: req.url, error: String(error) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (cause) =>
      reject(
        new AppServerError("app-server-listen", `cannot listen on port ${options.port ?? 0}`, {
          cause,
        }),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  options.log?.info("dApp served", { url });
  return {
    url,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
