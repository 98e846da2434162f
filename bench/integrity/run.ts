// The integrity simulator (issue 12, "The integrity simulator"): `npm run sim:integrity`.
//
// For colluding capacity shares p and verification settings (k, q), simulates jobs under the
// v1 assignment (today's contract, v1-assignment.ts, checked equal to it on chain) with v1's
// majority vote, and under the v2 reference draw (v2-draw.ts, the model the v2 contract must
// match, not on chain yet) with v2's escalation of disputed groups. The colluders split their
// capacity into identities of one of IDENTITY_CAPACITIES tasks; each case reports the split that
// gets the most wrong groups accepted. Prints a table and writes bench-results/integrity.json.
//
// Options: --jobs N (jobs per case and split, default 300), --seed N (default 12),
// --stake CONUN (stake per task-replica, default 2), --gain CONUN (the attacker's gain per
// wrongly accepted task, default 3), --honest mixed|small (honest capacities between a tenth of
// a lane and a whole lane, the default, or of one task, where the draw is the binomial one),
// --panel N (v2 escalation panel size, quorum a majority; default k with quorum q),
// --panel-seats (panel seats drawn by stake with replacement instead of distinct providers).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { auditRateToDeter, DEFAULT_ECONOMICS, type Economics } from "./economics.ts";
import { type CaseResult, type Model, simulateCase } from "./simulate.ts";

const SHARES = [0.05, 0.1, 0.2, 1 / 3, 0.45];
const SETTINGS = [
  { k: 2, q: 2 },
  { k: 3, q: 2 },
  { k: 5, q: 3 },
];
const MODELS: Model[] = ["v1", "v2"];
const TASKS = 100;
/** v2 groups of one task: a 100-task job is a 100-group job. */
const GROUP_SIZE = 1;
/** The colluders' identity sizes tried: whole lanes, a tenth of a lane, two tasks. */
const IDENTITY_CAPACITIES = [TASKS, TASKS / 10, 2];
const HONEST = { mixed: [TASKS / 10, TASKS], small: [1, 1] } as const;

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "300" },
    seed: { type: "string", default: "12" },
    stake: { type: "string", default: String(DEFAULT_ECONOMICS.stakePerTaskReplica) },
    gain: { type: "string", default: String(DEFAULT_ECONOMICS.gainPerTask) },
    honest: { type: "string", default: "mixed" },
    panel: { type: "string" },
    "panel-seats": { type: "boolean", default: false },
  },
});

function positiveNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  }
  return value;
}

const jobs = Math.round(positiveNumber("jobs", values.jobs));
const seed = Math.round(positiveNumber("seed", values.seed));
const economics: Economics = {
  ...DEFAULT_ECONOMICS,
  stakePerTaskReplica: positiveNumber("stake", values.stake),
  gainPerTask: positiveNumber("gain", values.gain),
};
if (values.honest !== "mixed" && values.honest !== "small") {
  throw new Error(`--honest must be mixed or small, got ${JSON.stringify(values.honest)}`);
}
const honestCapacity = HONEST[values.honest];
const panelSize =
  values.panel === undefined ? undefined : Math.round(positiveNumber("panel", values.panel));
const seats = values["panel-seats"];
/** The escalation panel of a (k, q) case: k members with quorum q unless --panel says. */
function panelFor(k: number, q: number) {
  return panelSize === undefined
    ? { size: k, quorum: q, seats }
    : { size: panelSize, quorum: Math.floor(panelSize / 2) + 1, seats };
}
const panelName = `${panelSize === undefined ? "k (quorum q)" : `${panelSize} (majority)`}, ${seats ? "stake-weighted seats" : "distinct providers"}`;

/** Binomial P(X >= q) for X ~ Binomial(k, p), and P(X = k) = p^k: the closed forms. */
export function binomialTail(k: number, q: number, p: number): number {
  let sum = 0;
  for (let x = q; x <= k; x++) sum += choose(k, x) * p ** x * (1 - p) ** (k - x);
  return sum;
}

function choose(n: number, r: number): number {
  let c = 1;
  for (let i = 1; i <= r; i++) c = (c * (n - r + i)) / i;
  return c;
}

interface Row {
  worst: CaseResult;
  splits: CaseResult[];
}

const rows: Row[] = [];
const started = performance.now();
for (const model of MODELS) {
  for (const { k, q } of SETTINGS) {
    for (const p of SHARES) {
      const splits = IDENTITY_CAPACITIES.map((identityCapacity) =>
        simulateCase({
          model,
          p,
          k,
          q,
          jobs,
          seed,
          taskCount: TASKS,
          groupSize: GROUP_SIZE,
          identityCapacity,
          honestCapacity,
          panel: panelFor(k, q),
          economics,
        }),
      );
      // The most wrong groups accepted; on a tie (none at all), the split that tried most.
      const worst = splits.reduce((a, b) =>
        b.wrongAcceptPerGroup > a.wrongAcceptPerGroup ||
        (b.wrongAcceptPerGroup === a.wrongAcceptPerGroup && b.tally.disputes > a.tally.disputes)
          ? b
          : a,
      );
      rows.push({ worst, splits });
    }
    process.stderr.write(`${model} (${k},${q}) done\n`);
  }
}
const seconds = (performance.now() - started) / 1000;

// ---------------------------------------------------------------- reporting

const pct = (x: number) =>
  x === 0 ? "0" : x < 0.001 ? `${(x * 100).toFixed(3)}%` : `${(x * 100).toFixed(2)}%`;
const money = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "∞");
const shareName = (p: number) => (Math.abs(p - 1 / 3) < 1e-9 ? "1/3" : String(p));

function table(headers: string[], body: string[][]): string {
  const cells = [headers, ...body];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

console.log(
  `\nIntegrity simulator: ${jobs} jobs of ${TASKS} tasks per case and identity size, seed ${seed}, ` +
    `honest capacities ${honestCapacity[0]}..${honestCapacity[1]}, stake ${economics.stakePerTaskReplica} ` +
    `CONUN per task-replica, gain ${economics.gainPerTask} CONUN per wrong task, escalation panel ` +
    `${panelName} (${seconds.toFixed(0)} s)\n`,
);
console.log(
  table(
    [
      "model",
      "k,q  p",
      "ident.",
      "wrong/group",
      "wrong/task",
      "tail",
      "p^k",
      "any in 100",
      "profit/group",
      "break-even",
      "cost x",
    ],
    rows.map(({ worst: r }) => [
      r.model,
      `${r.k},${r.q}  ${shareName(r.p)}`,
      String(r.identityCapacity),
      pct(r.wrongAcceptPerGroup),
      pct(r.wrongAcceptPerTask),
      pct(binomialTail(r.k, r.q, r.p)),
      pct(r.p ** r.k),
      pct(r.wrongAnyIn100),
      money(r.attackerProfitPerGroup),
      money(r.breakEvenStake),
      r.costMultiplier.toFixed(3),
    ]),
  ),
);
console.log(
  "\nident.: the colluders' identity size (tasks) that got most wrong groups accepted; tail: " +
    "binomial P(X >= q); any in 100: 1 - (1 - wrong/group)^100; profit/group and break-even " +
    "(stake per task-replica) in CONUN per task of a group; cost x: task-replicas the requester pays ÷ tasks.",
);

console.log("\nTargets (issue 12, v2 with k = 3, q = 2)\n");
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
for (const { worst, splits } of rows) {
  if (worst.model !== "v2" || worst.k !== 3 || worst.q !== 2) continue;
  const bound = worst.p ** 3;
  // Splits under which the colluders never deviate are no attack (profit 0), so they do not count.
  const attacks = splits.filter((s) => s.tally.wrongGroups + s.tally.disputes > 0);
  const profit = Math.max(...attacks.map((s) => s.attackerProfitPerGroup));
  console.log(
    `${verdict(worst.wrongAcceptPerGroup <= bound)}  p = ${shareName(worst.p)}: wrong/group ${pct(worst.wrongAcceptPerGroup)} <= p^3 = ${pct(bound)}` +
      `   ${verdict(attacks.length === 0 || profit < 0)}  best attack profit over identity sizes ${attacks.length === 0 ? "(never deviates)" : money(profit)} < 0`,
  );
}
console.log(
  `\nDeviating only where they hold all k lanes (no dispute) always pays in v2; an audit rate ` +
    `above ${SETTINGS.map(({ k }) => `${(auditRateToDeter(economics, k) * 100).toFixed(0)}% (k = ${k})`).join(", ")} ` +
    "of such groups would make it lose.",
);

const finite = (x: number) => (Number.isFinite(x) ? x : null);
const cases = rows.map(({ worst: r, splits }) => ({
  model: r.model,
  p: r.p,
  k: r.k,
  q: r.q,
  wrongAcceptPerGroup: r.wrongAcceptPerGroup,
  wrongAnyIn100: r.wrongAnyIn100,
  attackerProfitPerGroup: r.attackerProfitPerGroup,
  // null: no stake stops the attack (v1 never slashes a wrong majority).
  breakEvenStake: finite(r.breakEvenStake),
  costMultiplier: r.costMultiplier,
  identityCapacity: r.identityCapacity,
  wrongAcceptPerTask: r.wrongAcceptPerTask,
  wrongAnyPerJob: r.wrongAnyPerJob,
  lanesHeld: r.tally.lanesHeld.map((n) => n / r.tally.groups),
  disputesPerGroup: r.tally.disputes / r.tally.groups,
  replicasRunPerTask: r.replicasRunPerTask,
  allLanesOnlyProfitPerGroup: r.allLanesOnlyProfitPerGroup,
  groups: r.tally.groups,
  splits: splits.map((s) => ({
    identityCapacity: s.identityCapacity,
    wrongAcceptPerGroup: s.wrongAcceptPerGroup,
    attackerProfitPerGroup: s.attackerProfitPerGroup,
    breakEvenStake: finite(s.breakEvenStake),
  })),
}));
const file = path.join(import.meta.dirname, "..", "..", "bench-results", "integrity.json");
await mkdir(path.dirname(file), { recursive: true });
await writeFile(
  file,
  `${JSON.stringify(
    {
      parameters: {
        jobs,
        seed,
        taskCount: TASKS,
        groupSize: GROUP_SIZE,
        identityCapacities: IDENTITY_CAPACITIES,
        honestCapacity,
        panel: panelName,
        economics,
      },
      cases,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
