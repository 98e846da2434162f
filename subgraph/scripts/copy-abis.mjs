// Copies the ABI arrays of the contracts the subgraph indexes from the Hardhat artifacts into
// abis/<Contract>.json, so that `graph codegen` and `graph build` need neither a Solidity
// compilation nor the layout of ../artifacts. The copies are checked in; run this after a
// contract's events change, and `--check` in CI to catch a stale copy.
//
// Usage: node scripts/copy-abis.mjs [--check] [--artifacts <dir>]   (default ../artifacts)
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const SUBGRAPH_DIR = path.join(import.meta.dirname, "..");
const CONTRACTS = ["JobMarket", "ProviderRegistry", "ConunToken"];

function parseArgs(argv) {
  const options = { check: false, artifacts: path.join(SUBGRAPH_DIR, "..", "artifacts") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--check") options.check = true;
    else if (argv[i] === "--artifacts" && argv[i + 1] !== undefined) options.artifacts = argv[++i];
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: copy-abis.mjs [--check] [--artifacts <dir>]`,
      );
  }
  return options;
}

async function readAbi(artifactsDir, contract) {
  // Hardhat 3 layout: artifacts/contracts/<Source>.sol/<Contract>.json
  const file = path.join(artifactsDir, "contracts", `${contract}.sol`, `${contract}.json`);
  let artifact;
  try {
    artifact = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read ${file}: run \`npx hardhat build\` in the repository root first`, {
      cause,
    });
  }
  if (!Array.isArray(artifact.abi)) throw new Error(`${file} has no "abi" array`);
  return artifact.abi;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const stale = [];
  for (const contract of CONTRACTS) {
    const abi = await readAbi(options.artifacts, contract);
    const target = path.join(SUBGRAPH_DIR, "abis", `${contract}.json`);
    const text = `${JSON.stringify(abi, null, 2)}\n`;
    if (options.check) {
      const current = await readFile(target, "utf8").catch(() => "");
      if (current !== text) stale.push(path.relative(SUBGRAPH_DIR, target));
    } else {
      await writeFile(target, text);
      console.log(`wrote ${path.relative(SUBGRAPH_DIR, target)} (${abi.length} ABI entries)`);
    }
  }
  if (stale.length > 0) {
    console.error(`stale ABI copies: ${stale.join(", ")}; run \`npm run abis\` in subgraph/`);
    process.exit(1);
  }
  if (options.check) console.log("ABI copies match the artifacts");
}

main().catch((error) => {
  console.error(`copy-abis: ${error.message}`);
  process.exit(1);
});
