// `npm run demo`: placeholder until the end-to-end demo exists. It says so plainly, lists
// what the checkout already has (found on disk, not hard-coded) and exits with code 1.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

function filesUnder(dir: string, suffixes: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((entry) => path.join(dir, entry).replaceAll("\\", "/"))
    .filter((file) => suffixes.some((suffix) => file.endsWith(suffix)))
    .sort();
}

const packageJson = JSON.parse(readFileSync("package.json", "utf8")) as {
  scripts?: Record<string, string>;
};
const scripts = packageJson.scripts ?? {};
const contracts = filesUnder("contracts", [".sol"]).filter(
  (file) => !file.startsWith("contracts/mocks/") && !file.endsWith(".t.sol"),
);
const tests = [
  ...filesUnder("test", [".ts", ".sol"]),
  ...filesUnder("contracts", [".t.sol"]),
].sort();

const lines = [
  "The end-to-end CONUN demo is not built yet: it lands with the requester/demo issue.",
  "",
  "What exists today:",
];
if (contracts.length > 0) {
  lines.push("- Solidity contracts:", ...contracts.map((file) => `    ${file}`));
} else {
  lines.push("- no contracts yet");
}
if (tests.length > 0) {
  lines.push("- tests, run with coverage by `npm test`:", ...tests.map((file) => `    ${file}`));
} else {
  lines.push("- no tests yet (`npm test` still runs lint, build and typecheck)");
}
// Listed only when the npm script exists and every scripts/ file it runs is present.
const benchGas = scripts["bench:gas"];
const benchGasFiles = benchGas?.match(/scripts\/[\w./-]+\.(?:ts|mjs|js)/g) ?? [];
if (benchGas !== undefined && benchGasFiles.every((file) => existsSync(file))) {
  lines.push("- a gas benchmark: `npm run bench:gas`");
}
lines.push("", "Run `npm test` to build, lint and test what exists.");

console.log(lines.join("\n"));
process.exitCode = 1;
