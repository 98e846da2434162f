// `npm run audit -- provider <address> | job <id> | network [--days N]`: human-readable reports
// from a CONUN subgraph — the embedded host or any graph-node (Subgraph Studio included), since
// both answer the same GraphQL.
//
// Options: --url <subgraph URL> (default $SUBGRAPH_URL, then the running demo's subgraph from
//          its devnet record, then the local host's usual URL),
//          --timeout <ms> (default 10000), --recent <n> (provider: bids/slashes shown, 10),
//          --days <n> (network: days shown, 7).
// Exit codes: 0 report printed, 1 failure (unreachable, unknown job/provider, query error),
// 2 usage error.
import { parseArgs } from "node:util";
import { readDevnet } from "../sdk/devnet.ts";
import { describeError, errorClass } from "../sdk/errors.ts";
import {
  createSubgraphClient,
  getJobReasons,
  getMeta,
  getNetworkDays,
  getNetworkStats,
  getProvider,
} from "../sdk/queries/index.ts";
import { escapeUntrusted } from "../sdk/text.ts";
import { jobReport, metaLine, networkReport, providerReport } from "./reports.ts";

export const DEFAULT_SUBGRAPH_URL = "http://127.0.0.1:8000/subgraphs/name/conun";

const USAGE = `Usage: npm run audit -- <report> [options]

Reports:
  provider <address>   a provider's stake, capabilities, work, earnings, slashes, recent bids
  job <id>             a job's spec, bids, winners, groups (commits, reveals, outcome), money
  network              network totals and the last days

Options:
  --url <url>          subgraph URL (default: $SUBGRAPH_URL, then a running
                       \`npm run demo\`'s subgraph, then ${DEFAULT_SUBGRAPH_URL})
  --timeout <ms>       per-request timeout (default 10000)
  --recent <n>         provider report: how many recent bids and slashes (default 10)
  --days <n>           network report: how many days (default 7)
  -h, --help           this text`;

declare module "../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"auditor", AuditorError> {}
}

/** `usage`: a bad command line (the usage text follows); `audit-not-found`: unknown to the subgraph. */
export class AuditorError extends errorClass("auditor", ["usage", "audit-not-found"]) {}

class UsageError extends AuditorError {
  constructor(message: string) {
    super("usage", message);
  }
}

function positiveInt(
  name: string,
  value: string | undefined,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--${name} must be an integer from 1 to ${max}, not ${value}`);
  return n;
}

/** $SUBGRAPH_URL, then the running demo's subgraph (sdk/devnet.ts), then the usual local URL. */
export function subgraphUrlDefault(env: NodeJS.ProcessEnv = process.env): string {
  return env.SUBGRAPH_URL || readDevnet({ env })?.subgraphUrl || DEFAULT_SUBGRAPH_URL;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  const options = {
    url: { type: "string" },
    timeout: { type: "string" },
    recent: { type: "string" },
    days: { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${escapeUntrusted((err as Error).message)}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed as {
    values: { url?: string; timeout?: string; recent?: string; days?: string; help?: boolean };
    positionals: string[];
  };
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const [report, arg, ...extra] = positionals;
    if (!report) throw new UsageError("no report given");
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
    const url = values.url ?? subgraphUrlDefault();
    const timeoutMs = positiveInt("timeout", values.timeout, 10_000, 600_000);
    const subgraph = createSubgraphClient(url, { timeoutMs });

    let body: string;
    if (report === "provider") {
      if (!arg || !/^0x[0-9a-fA-F]{40}$/.test(arg))
        throw new UsageError("provider needs an address (0x followed by 40 hex digits)");
      const recent = positiveInt("recent", values.recent, 10, 1000);
      const provider = await getProvider(subgraph, arg, { recent });
      if (!provider)
        throw new AuditorError(
          "audit-not-found",
          `provider ${arg.toLowerCase()} is unknown to ${url}`,
        );
      body = providerReport(provider);
    } else if (report === "job") {
      if (!arg || !/^\d+$/.test(arg)) throw new UsageError("job needs a job id (a decimal number)");
      const found = await getJobReasons(subgraph, BigInt(arg));
      if (!found) throw new AuditorError("audit-not-found", `job ${arg} is unknown to ${url}`);
      body = jobReport(found.job, found.reasons.lines);
    } else if (report === "network") {
      if (arg) throw new UsageError(`network takes no argument, got ${arg}`);
      const days = positiveInt("days", values.days, 7, 1000);
      body = networkReport(await getNetworkStats(subgraph), await getNetworkDays(subgraph, days));
    } else {
      throw new UsageError(`unknown report "${report}"`);
    }

    // _meta last: the header then describes at least the state the report was read from.
    const meta = await getMeta(subgraph);
    // Reports carry strings anyone could have put on chain (metadata URIs, CIDs, image refs):
    // they reach the terminal escaped.
    process.stdout.write(
      escapeUntrusted(`${metaLine(subgraph.url, meta)}\n${body}\n`, { multiline: true }),
    );
    if (meta.hasIndexingErrors)
      process.stderr.write(
        `warning: the subgraph reports indexing errors; its data stops at or near block ${meta.block.number} and may be incomplete\n`,
      );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${escapeUntrusted(err.message)}\n\n${USAGE}\n`);
      return 2;
    }
    // A subgraph's error messages are its own text, and may quote what anyone put on chain.
    process.stderr.write(`error: ${escapeUntrusted(describeError(err))}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${escapeUntrusted(describeError(err))}\n`);
      process.exitCode = 1;
    },
  );
}
