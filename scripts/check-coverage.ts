// Coverage gate: reads the LCOV report that `hardhat test --coverage` writes to
// coverage/lcov.info and fails unless line coverage of the production contracts reaches the
// minimum. Mocks (contracts/mocks/) and Solidity test contracts (*.t.sol) do not count.
//
// Usage: node scripts/check-coverage.ts [--min <percent>] [--lcov <path>]
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const DEFAULT_MIN_PERCENT = 95;
const DEFAULT_LCOV_PATH = "coverage/lcov.info";

interface FileCoverage {
  file: string;
  linesFound: number;
  linesHit: number;
  uncovered: number[];
}

function isCounted(file: string): boolean {
  return (
    file.startsWith("contracts/") &&
    !file.startsWith("contracts/mocks/") &&
    !file.endsWith(".t.sol")
  );
}

/** Parses the SF/DA/LF/LH records of an LCOV file; DA lines are the source of truth. */
function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: { file: string; lines: Map<number, number> } | undefined;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line.startsWith("SF:")) {
      current = { file: line.slice(3).replaceAll("\\", "/"), lines: new Map() };
    } else if (line.startsWith("DA:") && current !== undefined) {
      const [lineNumber, count] = line.slice(3).split(",").map(Number);
      if (lineNumber === undefined || count === undefined || Number.isNaN(lineNumber + count)) {
        throw new Error(`malformed LCOV line: ${line}`);
      }
      current.lines.set(lineNumber, (current.lines.get(lineNumber) ?? 0) + count);
    } else if (line === "end_of_record" && current !== undefined) {
      const uncovered = [...current.lines]
        .filter(([, count]) => count === 0)
        .map(([lineNumber]) => lineNumber)
        .sort((a, b) => a - b);
      files.push({
        file: current.file,
        linesFound: current.lines.size,
        linesHit: current.lines.size - uncovered.length,
        uncovered,
      });
      current = undefined;
    }
  }
  return files;
}

/** Turns [3, 4, 5, 9] into "3-5, 9". */
function formatRanges(lines: number[]): string {
  const ranges: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const line of [...lines, Number.NaN]) {
    if (previous !== undefined && line === previous + 1) {
      previous = line;
      continue;
    }
    if (start !== undefined && previous !== undefined) {
      ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
    }
    start = line;
    previous = line;
  }
  return ranges.join(", ");
}

function percent(hit: number, found: number): number {
  return found === 0 ? 100 : (hit / found) * 100;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      min: { type: "string", default: String(DEFAULT_MIN_PERCENT) },
      lcov: { type: "string", default: DEFAULT_LCOV_PATH },
    },
  });
  const minPercent = Number(values.min);
  const lcovPath = values.lcov;
  if (Number.isNaN(minPercent)) {
    console.error(`check-coverage: --min must be a number, got ${values.min}`);
    return 2;
  }
  if (!existsSync(lcovPath)) {
    console.error(`check-coverage: ${lcovPath} not found; run \`hardhat test --coverage\` first`);
    return 2;
  }

  const all = parseLcov(readFileSync(lcovPath, "utf8"));
  const counted = all.filter((f) => isCounted(f.file)).sort((a, b) => a.file.localeCompare(b.file));
  const skipped = all.filter((f) => !isCounted(f.file)).map((f) => f.file);
  if (counted.length === 0) {
    console.error(`check-coverage: ${lcovPath} has no coverage data for contracts/`);
    return 1;
  }

  const rows = counted.map((f) => [
    f.file,
    percent(f.linesHit, f.linesFound).toFixed(2),
    `${f.linesHit}/${f.linesFound}`,
    formatRanges(f.uncovered),
  ]);
  const totalFound = counted.reduce((sum, f) => sum + f.linesFound, 0);
  const totalHit = counted.reduce((sum, f) => sum + f.linesHit, 0);
  const total = percent(totalHit, totalFound);
  const header = ["File", "Line %", "Lines", "Uncovered lines"];
  const footer = ["Total", total.toFixed(2), `${totalHit}/${totalFound}`, ""];
  const table = [header, ...rows, footer];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) =>
        i === 1 || i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");

  console.log(`\nLine coverage of contracts/ (from ${lcovPath}; mocks and *.t.sol excluded)`);
  console.log(format(header));
  console.log(rule);
  for (const row of rows) console.log(format(row));
  console.log(rule);
  console.log(format(footer));
  if (skipped.length > 0) console.log(`Not counted: ${skipped.join(", ")}`);

  if (total < minPercent) {
    console.error(
      `\ncheck-coverage: FAILED: line coverage ${total.toFixed(2)} % is below the minimum ${minPercent} %`,
    );
    return 1;
  }
  console.log(`\ncheck-coverage: OK: line coverage ${total.toFixed(2)} % >= ${minPercent} %`);
  return 0;
}

process.exitCode = main();
