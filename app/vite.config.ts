// Vite builds the dApp from app/ and imports the shared SDK from ../sdk and the TypeChain
// types from ../types, so ABIs, queries and manifest rules have one source. The SDK modules the
// app imports are pure (no Node built-ins: their file-system companions, such as
// sdk/results/fs.ts and sdk/content/cid-fs.ts, sit beside them), so nothing is shimmed.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const here = import.meta.dirname;

/**
 * `vite dev` serves /config.json from the file named by CONUN_APP_CONFIG (the production
 * server, app/server.ts, serves the object it is given).
 */
function devConfig(): Plugin {
  return {
    name: "conun-dev-config",
    configureServer(server) {
      server.middlewares.use("/config.json", (_req, res) => {
        const file = process.env.CONUN_APP_CONFIG;
        if (file === undefined) {
          res.statusCode = 404;
          res.end("set CONUN_APP_CONFIG to a config.json path (see app/README.md)");
          return;
        }
        res.setHeader("Content-Type", "application/json");
        res.end(readFileSync(file));
      });
    },
  };
}

/**
 * Fails the build when anything in the bundle imports a Node built-in: the SDK modules the app
 * imports must stay pure (their file-system companions are for Node only), and a built-in that
 * Vite quietly externalized would only fail in a person's browser.
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: "conun-no-node-builtins",
    apply: "build",
    enforce: "pre",
    resolveId(source, importer) {
      if (source.startsWith("node:") || builtins.has(source.split("/")[0] as string)) {
        this.error(
          `${importer ?? "the app"} imports the Node built-in ${source}; the dApp may import only ` +
            "pure SDK modules (their fs companions, such as sdk/results/fs.ts, are for Node)",
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  plugins: [react(), devConfig(), noNodeBuiltins()],
  server: { host: "127.0.0.1", fs: { allow: [path.join(here, "..")] } },
  build: {
    outDir: path.join(here, "dist"),
    emptyOutDir: true,
    sourcemap: true,
    // One ~1 MB bundle (ethers, zod, the Merkle tree, UnixFS): served from loopback or a CDN,
    // splitting it would only add round trips for an app whose every page needs ethers.
    chunkSizeWarningLimit: 1500,
  },
});
