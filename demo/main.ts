// The body of `npm run demo` (demo/cli.ts builds the contracts first, then imports this):
// the whole CONUN system on this machine, running one real job end to end.
//
// A local Hardhat node (deployed with Ignition, as `npm run deploy:local` does), the embedded
// subgraph host, and three provider workers as separate processes — one of them configured to
// return wrong results. A requester posts a Mandelbrot rendering job of 12 tiles with k = 3
// and q = 2; every tile is rendered by all three providers in Docker, the two honest results
// agree, the cheater is slashed, the honest providers are paid, and the requester verifies
// every tile against the winning on-chain root and assembles the picture.
//
// Usage: npm run demo [-- --keep]    (--keep leaves everything running until Ctrl-C)
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { formatUnits, parseUnits } from "ethers";
import { buildDemoImage } from "../devnet/image/build.ts";
import {
  checkDocker,
  DevnetStartError,
  REPO,
  startDevnet,
  Teardown,
  waitForWorkersReady,
} from "../devnet/index.ts";
import { connectRequester } from "../requester/context.ts";
import { formatConun } from "../requester/manage.ts";
import { assembleTiles } from "../requester/mosaic.ts";
import { postJob } from "../requester/post.ts";
import { createProgressPrinter } from "../requester/render.ts";
import { fetchResults } from "../requester/results.ts";
import { paidProviders, watchJob } from "../requester/watch.ts";
import { devnetFile, readDevnet, removeDevnet, writeDevnet } from "../sdk/devnet.ts";
import { ConunError } from "../sdk/errors.ts";
import { createLogger } from "../sdk/logger.ts";
import { readDeployment } from "../sdk/protocol/deployments.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";

const keep = process.argv.includes("--keep");
const DEMO_DIR = path.join(REPO, ".conun/demo");
const log = createLogger({ level: process.env.CONUN_LOG_LEVEL === "debug" ? "debug" : "warn" });

// Everything the demo starts, stopped newest first on the way out or on a signal.
const teardown = new Teardown();
const cleanup = () => teardown.run();
const STOPPED =
  "Stopped: the chain, the subgraph host, the dApp, the content gateway and the workers are down.";
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping everything the demo started…`);
    void cleanup().then(() => {
      console.log(STOPPED);
      // An orderly stop on request, like the worker's: exit code 0, so npm adds no error lines.
      process.exit(0);
    });
  });
}

const step = (text: string) => console.log(`\n▶ ${text}`);

async function main(): Promise<void> {
  // One demo per checkout: a second one would share its folders and its Ignition records.
  const running = readDevnet();
  if (running !== undefined) {
    throw new DevnetStartError(
      "demo-running",
      `another demo is running (pid ${running.pid}, chain ${running.rpcUrl}, dApp ${running.appUrl}): ` +
        `use it, or stop it (Ctrl-C in its terminal, or kill ${running.pid}) and run the demo again`,
    );
  }

  step("Checking Docker");
  console.log(`  Docker engine ${await checkDocker()}`);

  step("Building the demo image (static C binary, docker import, no registry)");
  const image = await buildDemoImage();
  console.log(
    `  ${image.tag} ${image.cached ? "(already built)" : "(built)"} → ${image.imageId.slice(0, 19)}…`,
  );

  await rm(path.join(DEMO_DIR, "run"), { recursive: true, force: true });
  const runDir = path.join(DEMO_DIR, "run");
  const contentDir = path.join(DEMO_DIR, "content");
  await mkdir(runDir, { recursive: true });

  const specs = [
    { name: "provider-a", account: 3, fault: "none" as const },
    { name: "provider-b", account: 4, fault: "none" as const },
    { name: "provider-c", account: 5, fault: "wrong-results" as const },
  ];
  const STARTING = {
    chain: "Starting a local chain and deploying CONUN with Ignition",
    subgraph: "Starting the embedded subgraph host",
    app: "Serving the dApp and the content gateway",
    funding: "Funding the requester and three providers from the deployer",
    workers: "Starting three provider workers (provider-c returns wrong results)",
  };
  const devnet = await startDevnet({
    dir: runDir,
    contentDir,
    chain: { deploy: "ignition" },
    subgraph: true,
    app: { networkName: "local demo chain" },
    funding: { accounts: [2, ...specs.map((s) => s.account)], amount: "1000" },
    workers: specs,
    teardown,
    log,
    onProgress: (piece, state, up) => {
      if (state === "starting") return step(STARTING[piece]);
      if (piece === "chain" && up.chain !== undefined)
        console.log(
          `  chain ${up.chain.url}, market ${up.chain.deployment.market}, token ${up.chain.deployment.token}`,
        );
      if (piece === "subgraph") console.log(`  GraphQL at ${up.subgraph?.url}`);
      if (piece === "app")
        console.log(`  dApp at ${up.app?.app.url} (content gateway ${up.app?.gateway.url})`);
      if (piece === "workers") {
        for (const w of up.workers ?? []) {
          console.log(
            `  ${w.name} ${w.address} pid ${w.pid}${w.fault === "none" ? "" : ` (fault: ${w.fault})`} — log ${path.relative(REPO, w.logFile)}`,
          );
        }
      }
    },
  });
  const { chain, subgraph, app, workers } = devnet;
  const requesterWallet = chain.wallets[2];
  if (requesterWallet === undefined || subgraph === undefined || app === undefined)
    throw new Error("the devnet is missing a piece");
  // Everything is up: tell the other tools where (sdk/devnet.ts). Removed first when stopping.
  const record = await writeDevnet({
    chainId: chain.chainId,
    rpcUrl: chain.url,
    deployment: {
      token: chain.deployment.token,
      registry: chain.deployment.registry,
      market: chain.deployment.market,
      startBlock: chain.deployment.startBlock,
    },
    contentDir,
    subgraphUrl: subgraph.url,
    gatewayUrl: app.gateway.url,
    appUrl: app.app.url,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  process.once("exit", () => removeDevnet(record));
  teardown.add(async () => {
    removeDevnet(record);
  });
  console.log(`  devnet record ${path.relative(REPO, record)} (the tools find this system there)`);
  const token = ConunToken__factory.connect(chain.deployment.token, chain.provider);
  const before = new Map<string, bigint>();
  for (const w of workers) before.set(w.address, await token.balanceOf(w.address));

  step("Posting the job: 12 Mandelbrot tiles × k=3, quorum 2 (escrow by EIP-2612 permit)");
  const ctx = await connectRequester({
    signer: requesterWallet,
    storeDir: contentDir,
    deployment: await readDeployment(chain.chainId),
    log,
  });
  teardown.add(() => ctx.store.close());
  const posted = await postJob(ctx, { manifestPath: path.join(REPO, "demo/job.json") });
  console.log(
    `  job ${posted.jobId} posted, manifest ${posted.manifestCid}, escrow ${formatConun(posted.escrow)}`,
  );

  step(`Watching job ${posted.jobId}`);
  const printer = createProgressPrinter();
  const final = await watchJob(chain.provider, chain.deployment.market, posted.jobId, {
    onEvent: printer.onEvent,
    fromBlock: posted.blockNumber,
    drive: requesterWallet,
    untilClaimed: true,
    timeoutMs: 10 * 60_000,
  });
  printer.done();
  if (final.status !== "Finalized") throw new Error(`job ${posted.jobId} ended ${final.status}`);

  step("Verification outcome");
  const market = JobMarket__factory.connect(chain.deployment.market, chain.provider);
  const paid = new Set(paidProviders(final));
  for (const w of workers) {
    const slashed = final.slashes.filter((s) => s.provider === w.address);
    const claim = final.claims.get(w.address);
    let owed = claim;
    if (owed === undefined) {
      const r = await market.claimableFor(posted.jobId, w.address);
      owed = { payment: r.payment, fee: r.fee, stakeReleased: r.stakeReleased };
    }
    const delta = (await token.balanceOf(w.address)) - (before.get(w.address) ?? 0n);
    const role = w.fault === "none" ? "honest" : "cheater";
    if (slashed.length > 0) {
      const total = slashed.reduce((sum, s) => sum + s.amount, 0n);
      console.log(
        `  ${w.name} (${role}) SLASHED ${formatConun(total)} of stake — ${slashed.length} group(s), reason ${[...new Set(slashed.map((s) => s.reason))].join(", ")}; paid nothing`,
      );
    } else if (paid.has(w.address)) {
      console.log(
        `  ${w.name} (${role}) PAID ${formatConun(owed.payment - owed.fee)} (${formatConun(owed.payment)} minus ${formatConun(owed.fee)} protocol fee)${claim ? `, claimed: wallet +${formatUnits(delta, 18)}` : ", not claimed yet"}`,
      );
    } else {
      console.log(`  ${w.name} (${role}) neither paid nor slashed`);
    }
  }
  const refunded = (final.awardRefund ?? 0n) + (final.refund ?? 0n);
  console.log(
    `  requester: escrowed ${formatConun(posted.escrow)}; refunded ${formatConun(refunded)} ` +
      `(${formatConun(final.awardRefund ?? 0n)} of bids below the max price at the award, ` +
      `${formatConun(final.refund ?? 0n)} for the cheater's replicas) — collect with conun:withdraw`,
  );
  console.log(`  stake slashed to the treasury: ${formatConun(final.slashed ?? 0n)}`);

  step("Fetching and verifying the results against the on-chain roots");
  const outDir = path.join(DEMO_DIR, `results-job-${posted.jobId}`);
  await rm(outDir, { recursive: true, force: true });
  const report = await fetchResults(ctx, posted.jobId, outDir);
  const verified = report.tasks.filter((t) => t.state === "verified").length;
  console.log(`  ${verified}/${final.taskCount} tiles verified against the winning roots`);
  for (const t of report.tasks.filter((t) => t.state !== "verified"))
    console.log(`  task ${t.index}: ${t.state} — ${t.reason}`);
  const png = path.join(DEMO_DIR, `mandelbrot-job-${posted.jobId}.png`);
  const picture = await assembleTiles(path.join(outDir, "tasks"), final.taskCount, png);
  console.log(`  assembled ${picture.width}×${picture.height} image: ${png}`);

  step("Audit it through the subgraph (what any auditor can query)");
  const query =
    "{ providers(orderBy: slashedAmount, orderDirection: desc) { id netEarnings slashCount slashedAmount successRate } slashes { provider { id } amount reason job { id } } }";
  // What an auditor sees: the same outcome, from the subgraph alone.
  await subgraph.waitForBlock(await chain.provider.getBlockNumber(), 30_000);
  const response = await fetch(subgraph.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  const audit = (await response.json()) as {
    data?: {
      providers: {
        id: string;
        netEarnings: string;
        slashCount: number;
        slashedAmount: string;
        successRate: string;
      }[];
    };
  };
  const names = new Map(workers.map((w) => [w.address.toLowerCase(), w.name]));
  for (const p of audit.data?.providers ?? []) {
    console.log(
      `  ${names.get(p.id) ?? p.id}: earned ${formatConun(BigInt(p.netEarnings))}, ` +
        `slashed ${p.slashCount}× (${formatConun(BigInt(p.slashedAmount))}), success rate ${p.successRate}`,
    );
  }
  console.log(
    `  GraphQL endpoint: ${subgraph.url}${keep ? "" : " (live while the demo runs: add -- --keep)"}`,
  );
  console.log(
    `  dApp: ${app.app.url} — network overview, provider leaderboard, job ${posted.jobId}'s page${keep ? "" : " (add -- --keep to browse it)"}`,
  );
  console.log(
    `  curl -s ${subgraph.url} -H 'content-type: application/json' \\\n    -d '${JSON.stringify({ query })}'`,
  );

  if (keep) {
    // A next job (the README's) needs every provider's stake free again, the slashed one's
    // topped back up to its target (100 CONUN, the worker's default).
    await waitForWorkersReady(chain, workers, 120_000, parseUnits("100", 18));
    console.log(
      [
        "",
        "Everything is still running (--keep). The README's commands find this system by",
        `themselves through ${path.relative(REPO, devnetFile())} — its chain ${chain.url} is what`,
        "--network localhost reaches, and its content store and subgraph are the tools' defaults —",
        "so in another terminal they work as written, no export needed:",
        `  npx hardhat conun:status --network localhost --job ${posted.jobId}`,
        "  npx hardhat conun:post   --network localhost --manifest demo/job.json",
        "  npx hardhat conun:watch  --network localhost --job <id printed by post>",
        `  npm run audit -- job ${posted.jobId}`,
        "Press Ctrl-C to stop.",
      ].join("\n"),
    );
    await new Promise(() => {});
  }
}

try {
  await main();
  console.log("\nDemo complete; stopping the chain, the subgraph host, the dApp and the workers.");
} catch (error) {
  console.error(
    `\ndemo failed: ${error instanceof ConunError ? `${error.message} [${error.code}]` : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
} finally {
  await cleanup();
  console.log(STOPPED);
}
