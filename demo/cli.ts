// `npm run demo`: the whole CONUN system on this machine, running one real job end to end
// (see demo/main.ts and docs/requester.md). Usage: npm run demo [-- --keep]
//
// The contracts' artifacts and TypeChain types are build outputs, absent from a fresh clone,
// and the demo imports the types: so it compiles first (`hardhat build`, a few seconds when
// nothing changed) and only then loads the demo itself.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";

const REPO = path.resolve(import.meta.dirname, "..");
const hardhatCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve("hardhat/package.json")),
  "dist/src/cli.js",
);

console.log("▶ Compiling the contracts (hardhat build)");
// A stop during the build ends the build too (demo/main.ts takes the signals over after it).
const building = new AbortController();
const stopBuild = (signal: NodeJS.Signals) => {
  building.abort();
  console.log(`\n${signal}: stopped while compiling; nothing else was started.`);
  process.exit(0);
};
process.once("SIGINT", stopBuild);
process.once("SIGTERM", stopBuild);
try {
  await promisify(execFile)(process.execPath, [hardhatCli, "build"], {
    cwd: REPO,
    timeout: 10 * 60_000,
    maxBuffer: 64 << 20,
    env: { ...process.env, FORCE_COLOR: "0" },
    signal: building.signal,
  });
  process.off("SIGINT", stopBuild);
  process.off("SIGTERM", stopBuild);
} catch (error) {
  const { stdout, stderr } = error as { stdout?: string; stderr?: string };
  console.error(`demo failed: hardhat build failed\n${stderr || stdout || String(error)}`);
  process.exit(1);
}
await import("./main.ts");
