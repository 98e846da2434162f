// Gas benchmark: what a whole job costs on chain, from postJob to the last withdrawal.
//
// Run with `npm run bench:gas` (= `hardhat run bench/gas.ts`). Each case deploys CONUN
// on a fresh in-process Hardhat network, registers and stakes its providers (one-off costs,
// reported apart), then drives one job through its whole lifecycle and sums `gasUsed` over
// every transaction of it: postJob, each placeBid, closeBidding, each commit, each reveal,
// finalize, each provider's claim and the requester's withdraw of its refund. A second,
// identical job on the same market shows the steady state (storage that the first job touched
// first, such as the job counter and the treasury's balance, is cheaper the second time).
//
// Every provider bids an equal share, capacity = ceil(tasks * replicas / providers), at its own
// price; bids arrive in a fixed scrambled price order, neither sorted nor reverse-sorted.
// The results go to the console and to bench-results/gas.json. Missing a target is reported,
// not fatal: the benchmark measures, the tests judge.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import {
  bookChainOf,
  type Connection,
  commitAll,
  deployProtocol,
  fillBidBook,
  ONE,
  type Protocol,
  passTime,
  postJob,
  registerProviders,
  revealAll,
} from "../devnet/protocol.js";

const REPLICATION = 3;
const QUORUM = 2;
const MAX_PRICE = ONE;
/** Prices fall by this step per rank, so every provider bids a different price. */
const PRICE_STEP = ONE / 100n;
/** Signers besides the providers that deployProtocol takes: owner, treasury, requester. */
const SIGNERS_BESIDES_PROVIDERS = 3;

const CASES = [
  { tasks: 1, providers: 3 },
  { tasks: 100, providers: 9 },
  { tasks: 1000, providers: 9 },
  { tasks: 1000, providers: 30 },
];

const TARGETS = {
  smallJobTotalGas: 800_000,
  largeJobGasPerTaskReplica: 1_500,
};

/** iExec PoCo's figures for one task run by 3 workers, per call. */
const POCO_1X3 = {
  matchOrders: 761_000,
  initialize: 226_000,
  contribute: 347_000,
  reveal: 79_000,
  finalize: 404_000,
};

const STEPS = [
  "post",
  "bids",
  "close",
  "commits",
  "reveals",
  "finalize",
  "claims",
  "withdraw",
] as const;
type Step = (typeof STEPS)[number];

interface MinedTransaction {
  hash: string;
  from: string;
  gasUsed: bigint;
}

interface JobGas {
  total: number;
  steps: Record<Step, number>;
  /** Transactions per step. */
  counts: Record<Step, number>;
  /** Per provider: its bid, commits, reveals and claim. */
  perProvider: number[];
}

interface CaseResult {
  tasks: number;
  replicas: number;
  providers: number;
  capacity: number;
  groups: number;
  firstJob: JobGas;
  secondJob: JobGas;
  onboarding: { register: number; approve: number; stake: number };
}

/** Gas of every transaction mined while `action` runs (the in-process chain automines). */
async function minedDuring(connection: Connection, action: () => Promise<unknown>) {
  const provider = connection.ethers.provider;
  const before = await provider.getBlockNumber();
  await action();
  const after = await provider.getBlockNumber();
  const mined: MinedTransaction[] = [];
  for (let number = before + 1; number <= after; number++) {
    const block = await provider.getBlock(number);
    for (const hash of block?.transactions ?? []) {
      const receipt = await provider.getTransactionReceipt(hash);
      if (receipt === null) throw new Error(`no receipt for mined transaction ${hash}`);
      mined.push({ hash, from: receipt.from, gasUsed: receipt.gasUsed });
    }
  }
  return mined;
}

function sumGas(mined: MinedTransaction[]): number {
  return Number(mined.reduce((sum, tx) => sum + tx.gasUsed, 0n));
}

/** Registers and stakes the providers, returning the average gas of each one-off step. */
async function onboard(connection: Connection, p: Protocol, stake: bigint) {
  const mined = await minedDuring(connection, () => registerProviders(p, p.providers, stake));
  const providers = new Set(p.providers.map((s) => s.address));
  const gas = { register: 0, approve: 0, stake: 0 };
  for (const tx of mined) {
    // The owner's funding transfers are test setup, not onboarding.
    if (!providers.has(tx.from)) continue;
    const { data } = (await connection.ethers.provider.getTransaction(tx.hash)) ?? { data: "0x" };
    const name =
      p.registry.interface.parseTransaction({ data })?.name ??
      p.token.interface.parseTransaction({ data })?.name;
    if (name !== "register" && name !== "approve" && name !== "stake") {
      throw new Error(`unexpected onboarding transaction ${tx.hash} (${name ?? "unknown"})`);
    }
    gas[name] += Number(tx.gasUsed);
  }
  const average = (total: number) => Math.round(total / p.providers.length);
  return {
    register: average(gas.register),
    approve: average(gas.approve),
    stake: average(gas.stake),
  };
}

/** Drives one job through its whole lifecycle, measuring each step. */
async function runJob(
  connection: Connection,
  p: Protocol,
  tasks: number,
  capacity: number,
): Promise<{ gas: JobGas; groups: number }> {
  const steps = {} as Record<Step, number>;
  const counts = {} as Record<Step, number>;
  const byProvider = new Map<string, number>(p.providers.map((s) => [s.address, 0]));
  const record = (step: Step, mined: MinedTransaction[]) => {
    steps[step] = (steps[step] ?? 0) + sumGas(mined);
    counts[step] = (counts[step] ?? 0) + mined.length;
    for (const tx of mined) {
      const spent = byProvider.get(tx.from);
      if (spent !== undefined) byProvider.set(tx.from, spent + Number(tx.gasUsed));
    }
  };

  let jobId = 0n;
  record(
    "post",
    await minedDuring(connection, async () => {
      jobId = await postJob(p, {
        taskCount: tasks,
        replication: REPLICATION,
        quorum: QUORUM,
        maxPrice: MAX_PRICE,
      });
    }),
  );
  const count = p.providers.length;
  for (const [i, provider] of p.providers.entries()) {
    // A fixed scramble of price ranks (7 is coprime with every provider count used here).
    const rank = BigInt((i * 7) % count);
    const price = MAX_PRICE - PRICE_STEP * (rank + 1n);
    record(
      "bids",
      await minedDuring(connection, () =>
        p.market.connect(provider).placeBid(jobId, price, capacity),
      ),
    );
  }
  await passTime(connection, (await p.market.getJob(jobId)).biddingDeadline);
  record(
    "close",
    await minedDuring(connection, () => p.market.connect(p.owner).closeBidding(jobId)),
  );
  const winners = [];
  for (const provider of p.providers) {
    if ((await p.market.getBid(jobId, provider.address)).allotted !== 0n) winners.push(provider);
  }
  for (const provider of winners) {
    record(
      "commits",
      await minedDuring(connection, () => commitAll(connection, p, jobId, provider)),
    );
  }
  for (const provider of winners) {
    record(
      "reveals",
      await minedDuring(connection, () => revealAll(connection, p, jobId, provider)),
    );
  }
  record(
    "finalize",
    await minedDuring(connection, () => p.market.connect(p.owner).finalize(jobId)),
  );
  for (const provider of winners) {
    record("claims", await minedDuring(connection, () => p.market.connect(provider).claim(jobId)));
  }
  steps.withdraw = 0;
  counts.withdraw = 0;
  if ((await p.market.claimableBalance(p.requester.address)) !== 0n) {
    record(
      "withdraw",
      await minedDuring(connection, () => p.market.connect(p.requester).withdraw()),
    );
  }

  // A benchmark of a broken flow would be worthless: check the job settled completely.
  const job = await p.market.getJob(jobId);
  if (job.status !== 5n || job.escrow !== 0n) {
    throw new Error(`job ${jobId} did not settle: status ${job.status}, escrow ${job.escrow}`);
  }
  return {
    gas: {
      total: STEPS.reduce((sum, step) => sum + steps[step], 0),
      steps,
      counts,
      perProvider: p.providers.map((s) => byProvider.get(s.address) ?? 0),
    },
    groups: Number(job.groupCount),
  };
}

async function runCase(tasks: number, providers: number): Promise<CaseResult> {
  const connection = await network.create({
    chainType: "l1",
    // Like every local chain the project starts, chain time follows the wall clock: a block a
    // second when idle (empty blocks add no gas to any step), each transaction mined at once.
    override: {
      accounts: { count: providers + SIGNERS_BESIDES_PROVIDERS },
      mining: { auto: true, interval: 1000 },
    },
  });
  try {
    const p = await deployProtocol(connection, { providerCount: providers });
    if (p.providers.length !== providers) throw new Error(`only ${p.providers.length} signers`);
    const capacity = Math.ceil((tasks * REPLICATION) / providers);
    // Enough stake for two jobs' worth of capacity at the default 2 CONUN per task-replica.
    const stake = BigInt(capacity) * 2n * ONE * 2n + ONE;
    const onboarding = await onboard(connection, p, stake);
    const first = await runJob(connection, p, tasks, capacity);
    const second = await runJob(connection, p, tasks, capacity);
    return {
      tasks,
      replicas: REPLICATION,
      providers,
      capacity,
      groups: first.groups,
      firstJob: first.gas,
      secondJob: second.gas,
      onboarding,
    };
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------- reporting

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) =>
        i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0),
      )
      .join("  ");
  return [
    line(cells[0] ?? []),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ].join("\n");
}

function report(results: CaseResult[]): void {
  console.log(
    "\nWhole-job gas (first job on a fresh market; the second job shows the steady state)\n",
  );
  console.log(
    table(
      [
        "tasks x replicas",
        "providers",
        "groups",
        "total gas",
        "gas/task-replica",
        "gas/provider",
        "2nd job total",
      ],
      results.map((r) => [
        `${r.tasks} x ${r.replicas}`,
        r.providers,
        r.groups,
        r.firstJob.total,
        (r.firstJob.total / (r.tasks * r.replicas)).toFixed(1),
        r.firstJob.total / r.providers,
        r.secondJob.total,
      ]),
    ),
  );

  console.log("\nPer step, all cases (first job; transactions in brackets)\n");
  console.log(
    table(
      ["step", ...results.map((r) => `${r.tasks}x${r.replicas}/${r.providers}p`)],
      STEPS.map((step) => [
        step,
        ...results.map((r) => `${fmt(r.firstJob.steps[step])} [${r.firstJob.counts[step]}]`),
      ]),
    ),
  );

  const small = results.find((r) => r.tasks === 1);
  if (small !== undefined) {
    const s = small.firstJob.steps;
    const poco = POCO_1X3;
    const k = small.replicas;
    console.log(`\n1 task x ${k} replicas, ${small.providers} providers, against iExec PoCo\n`);
    console.log(
      table(
        ["CONUN step", "CONUN gas", "PoCo counterpart", "PoCo gas"],
        [
          ["postJob", s.post, "matchOrders", poco.matchOrders],
          [`placeBid x ${small.firstJob.counts.bids}`, s.bids, "(in matchOrders)", "-"],
          ["closeBidding", s.close, "initialize", poco.initialize],
          [
            `commit x ${small.firstJob.counts.commits}`,
            s.commits,
            `contribute x ${k}`,
            k * poco.contribute,
          ],
          [
            `reveal x ${small.firstJob.counts.reveals}`,
            s.reveals,
            `reveal x ${k}`,
            k * poco.reveal,
          ],
          ["finalize", s.finalize, "finalize", poco.finalize],
          [`claim x ${small.firstJob.counts.claims}`, s.claims, "(in finalize)", "-"],
          [`withdraw x ${small.firstJob.counts.withdraw}`, s.withdraw, "(in finalize)", "-"],
          [
            "total",
            small.firstJob.total,
            "total",
            poco.matchOrders +
              poco.initialize +
              k * (poco.contribute + poco.reveal) +
              poco.finalize,
          ],
        ],
      ),
    );
  }

  console.log(
    "\nOne-off per provider (not in the totals; average over the 1 x 3 case's providers)\n",
  );
  const once = (small ?? results[0])?.onboarding;
  if (once !== undefined) {
    console.log(
      table(
        ["step", "gas"],
        [
          ["register", once.register],
          ["approve (token, for staking)", once.approve],
          ["stake", once.stake],
          ["total", once.register + once.approve + once.stake],
        ],
      ),
    );
  }

  console.log("\nTargets\n");
  const large = results.filter((r) => r.tasks === 1000);
  const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
  if (small !== undefined) {
    const total = small.firstJob.total;
    console.log(
      `${verdict(total < TARGETS.smallJobTotalGas)}  1 x 3 total under ${fmt(TARGETS.smallJobTotalGas)} gas: ${fmt(total)}`,
    );
  }
  for (const r of large) {
    const perTaskReplica = r.firstJob.total / (r.tasks * r.replicas);
    console.log(
      `${verdict(perTaskReplica < TARGETS.largeJobGasPerTaskReplica)}  ${r.tasks} x ${r.replicas} with ${r.providers} providers under ${fmt(TARGETS.largeJobGasPerTaskReplica)} gas per task-replica: ${perTaskReplica.toFixed(1)}`,
    );
  }
}

/** Gas of a bid on a full book (protocol v2's eviction), in the cheapest and dearest place. */
interface FullBookGas {
  /** The book's placeBid before it is full (64 bids, no eviction), for comparison. */
  placeBid: number;
  /** Evicting the next-to-last bid: the worst is the latest but one, one bid shifts. */
  evictLast: number;
  /** Evicting the first bid: the 63 later bids move down one place each. */
  evictFirst: number;
}

/**
 * A 10 x 3 job whose book fills with 64 capacity-1 bids, the first of them the dearest; then
 * two cheaper bids: one evicts the first bid, the next the latest of the rest.
 */
async function runFullBook(): Promise<FullBookGas> {
  const connection = await network.create({
    chainType: "l1",
    override: { accounts: { count: 2 + SIGNERS_BESIDES_PROVIDERS } },
  });
  try {
    const p = await deployProtocol(connection, { providerCount: 2 });
    const [first, late] = p.providers;
    if (first === undefined || late === undefined) throw new Error("need 2 providers");
    await registerProviders(p, [first, late]);
    const jobId = await postJob(p, { taskCount: 10, replication: 3, quorum: 2 });
    const gasOf = async (action: () => Promise<unknown>) =>
      sumGas(await minedDuring(connection, action));
    const placeBid = await gasOf(() => p.market.connect(first).placeBid(jobId, MAX_PRICE, 1));
    await fillBidBook(bookChainOf(connection, p), jobId, {
      price: MAX_PRICE - PRICE_STEP,
      capacity: 1,
    });
    // `first` asks the most: evicting it shifts every later bid.
    const evictFirst = await gasOf(() =>
      p.market.connect(late).placeBid(jobId, MAX_PRICE - 2n * PRICE_STEP, 1),
    );
    // Now the worst is the latest of the book's wallets: only `late`'s bid, after it, moves.
    const evictLast = await gasOf(() =>
      p.market.connect(first).placeBid(jobId, MAX_PRICE - 3n * PRICE_STEP, 1),
    );
    return { placeBid, evictLast, evictFirst };
  } finally {
    await connection.close();
  }
}

async function writeJson(results: CaseResult[], fullBook: FullBookGas): Promise<string> {
  const file = path.join(import.meta.dirname, "..", "bench-results", "gas.json");
  const cases = results.map((r) => ({
    tasks: r.tasks,
    replicas: r.replicas,
    providers: r.providers,
    totalGas: r.firstJob.total,
    gasPerTaskReplica: Math.round((r.firstJob.total * 10) / (r.tasks * r.replicas)) / 10,
    gasPerProvider: Math.round(r.firstJob.total / r.providers),
    groups: r.groups,
    capacityPerProvider: r.capacity,
    secondJobTotalGas: r.secondJob.total,
    providersGasEach: r.firstJob.perProvider,
    steps: r.firstJob.steps,
    transactions: r.firstJob.counts,
    onboardingGasPerProvider: r.onboarding,
  }));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ cases, fullBook }, null, 2)}\n`);
  return file;
}

const results: CaseResult[] = [];
for (const { tasks, providers } of CASES) {
  console.log(`running ${tasks} task(s) x ${REPLICATION} with ${providers} providers...`);
  results.push(await runCase(tasks, providers));
}
report(results);
console.log("running a bid on a full book (64 bids)...");
const fullBook = await runFullBook();
console.log(
  `\nA bid on a full book: ${fmt(fullBook.evictLast)} gas evicting a bid near the end (1 bid shifts), ${fmt(fullBook.evictFirst)} evicting the first (63 bids shift), against ${fmt(fullBook.placeBid)} for a bid on a book with room`,
);
const file = await writeJson(results, fullBook);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
