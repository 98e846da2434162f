// The worker's main loop: start-up (connect, check the chain, replay the journal, register and
// stake), then poll — discover jobs, decide bids, drive every active job one step at a time —
// until a shutdown signal. On shutdown no new step starts; running tasks are cancelled (their
// job is re-run after a restart, as nothing was committed) and a transaction in flight is
// awaited, so the journal always describes what was done.

import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { type BaseWallet, Wallet } from "ethers";
import {
  checkChainId,
  connectContracts,
  connectRpc,
  type PostedJob,
  TxSender,
} from "../../sdk/chain/index.ts";
import { pricingPolicy } from "../../sdk/chain/pricing.ts";
import { describeError } from "../../sdk/errors.ts";
import type { Logger } from "../../sdk/logger.ts";
import { readDeployment } from "../../sdk/protocol/deployments.ts";
import { considerJob } from "./bidding/bidder.ts";
import { floorPricing } from "./bidding/pricing.ts";
import { detectMachine } from "./capacity/machine.ts";
import { ConfigError, type WorkerConfig } from "./config/index.ts";
import { openWorkerStore, Semaphore, type WorkerContext } from "./context.ts";
import { Discovery } from "./discovery.ts";
import {
  connectDocker,
  removeStaleContainers,
  removeStaleOutputMounts,
  resolveOutputBound,
} from "./execution/index.ts";
import type { WorkerHooks } from "./hooks.ts";
import { cleanUpJob, collectContent } from "./jobs/cleanup.ts";
import { advanceJob, describeChainError } from "./jobs/lifecycle.ts";
import { isActive, Journal, needsCleanUp, reduceJournal } from "./journal/index.ts";
import { createMetrics, serveMetrics } from "./metrics/metrics.ts";
import {
  describeFundsError,
  ensureRegistered,
  isInsufficientFunds,
  topUpStake,
  waitForFunds,
} from "./registration.ts";

export function journalPath(config: WorkerConfig): string {
  return path.join(config.dataDir, "journal.jsonl");
}

/** The signing key from the configuration (keystore, or a dev key on the local chain). */
export async function loadWallet(config: WorkerConfig): Promise<BaseWallet> {
  const { key } = config;
  if (key.devKey !== undefined) return new Wallet(key.devKey);
  const keystore = key.keystore as string;
  let json: string;
  try {
    json = await readFile(keystore, "utf8");
  } catch (cause) {
    throw new ConfigError([`key.keystore: cannot read ${keystore}`], { cause });
  }
  let password = key.password;
  if (password === undefined && key.passwordFile !== undefined) {
    try {
      password = (await readFile(key.passwordFile, "utf8")).replace(/\r?\n$/, "");
    } catch (cause) {
      throw new ConfigError([`key.passwordFile: cannot read ${key.passwordFile}`], { cause });
    }
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password ?? "")) as BaseWallet;
  } catch (cause) {
    throw new ConfigError(["key.keystore: cannot decrypt the keystore with the given password"], {
      cause,
    });
  }
}

export async function resolveAddresses(config: WorkerConfig) {
  if (config.contracts !== undefined) return config.contracts;
  try {
    const deployment = await readDeployment(config.chainId, {
      ...(config.deploymentsDir ? { deploymentsDir: config.deploymentsDir } : {}),
    });
    return { ...deployment, startBlock: deployment.startBlock };
  } catch (cause) {
    throw new ConfigError(
      [
        `contracts: not configured and no deployment found for chain ${config.chainId} (${describeError(cause)})`,
      ],
      { cause },
    );
  }
}

export interface RunningWorker {
  address: string;
  metricsPort: number | undefined;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
}

export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  shutdown: AbortSignal,
  /** Seams for the fault-injecting entry point (worker/src/testing/); none in production. */
  hooks: WorkerHooks = {},
): Promise<RunningWorker> {
  const provider = connectRpc(config.rpcUrl, config.chainId, { timeoutMs: config.rpcTimeoutMs });
  await withRetries(
    log,
    "connect to the node",
    () => checkChainId(provider, config.chainId),
    shutdown,
  );
  const addresses = await resolveAddresses(config);
  const wallet = (await loadWallet(config)).connect(provider) as BaseWallet;
  const metrics = createMetrics();
  const sender = new TxSender({
    wallet,
    chainId: BigInt(config.chainId),
    logger: log,
    receiptTimeoutMs: config.receiptTimeoutMs,
    onEvent: (event) => {
      if (event.kind === "sent") metrics.txSent.inc({ action: event.label });
      if (event.kind === "failed") metrics.txFailed.inc({ action: event.label });
      if (event.kind === "retry") metrics.txRetries.inc({ action: event.label });
    },
  });
  const { journal, entries } = await Journal.open(journalPath(config));
  const jobs = reduceJournal(entries);
  const machine = await detectMachine();
  const store = await openWorkerStore(config, log);
  const docker = connectDocker({ socketPath: config.dockerSocket });
  // The data directory exists: Journal.open made it.
  const outputBound = await resolveOutputBound(config.limits.outputQuota, config.dataDir);
  const ctx: WorkerContext = {
    config,
    log,
    hooks,
    provider,
    wallet,
    address: wallet.address,
    contracts: connectContracts(addresses, provider),
    startBlock: addresses.startBlock,
    sender,
    journal,
    jobs,
    store,
    docker,
    metrics,
    pricing: floorPricing(pricingPolicy(config.pricing)),
    offer: {
      cpuMillicores: config.capacity.cpuMillicores,
      memoryMiB: config.capacity.memoryMiB,
      gpuCount: config.capacity.gpuCount ?? machine.gpuCount,
      slots: config.capacity.slots,
    },
    slots: new Semaphore(config.capacity.slots),
    outputBound,
    shutdown,
    record: async (event) => {
      // The journal stays small (a few entries per job), so refolding it whole is cheap and
      // keeps one definition of what an entry means.
      entries.push(await journal.append(event));
      const folded = reduceJournal(entries);
      for (const [jobId, state] of folded) jobs.set(jobId, state);
    },
  };
  log.info("worker starting", {
    address: ctx.address,
    chainId: config.chainId,
    market: addresses.market,
    journaledJobs: jobs.size,
    slots: config.capacity.slots,
  });
  if (outputBound.runTask === "required" && outputBound.bid.ok) {
    log.info("task output", { bound: outputBound.summary });
  } else log.warn("task output", { bound: outputBound.summary });
  await ctx.record({
    type: "started",
    address: ctx.address,
    chainId: config.chainId,
    outputBound: outputBound.summary,
  });
  await removeStaleContainers({ docker, workerId: ctx.address.toLowerCase(), logger: log }).catch(
    (error: unknown) =>
      log.warn("could not remove stale containers", { reason: describeError(error) }),
  );
  // Only once no container holds them: the quota file systems of tasks a crash interrupted.
  await removeStaleOutputMounts({ workerId: ctx.address.toLowerCase(), logger: log }).catch(
    (error: unknown) =>
      log.warn("could not remove stale output file systems", { reason: describeError(error) }),
  );
  await registerWhenFunded(ctx);

  let server: Server | undefined;
  let metricsPort: number | undefined;
  if (config.metrics.port !== 0) {
    const served = await serveMetrics(metrics, config.metrics.port);
    server = served.server;
    metricsPort = served.port;
    log.info("metrics served", { url: `http://127.0.0.1:${metricsPort}/metrics` });
  }
  const head = await provider.getBlockNumber();
  const discovery = new Discovery(
    ctx,
    Math.max(addresses.startBlock, head - config.lookbackBlocks),
  );
  const done = mainLoop(ctx, discovery).finally(async () => {
    await journal.close();
    await store.close().catch(() => {});
    server?.close();
    provider.destroy();
    log.info("worker stopped");
  });
  return { address: ctx.address, metricsPort, done };
}

/**
 * Registers and stakes once the account can pay for it. Without ETH (or, new, without CONUN)
 * the worker says so and waits for the funds; a transaction that still fails for lack of ETH
 * (the fee rose, the budget was short) sends it back to waiting for more than it holds.
 */
async function registerWhenFunded(ctx: WorkerContext): Promise<void> {
  let moreThanWei: bigint | undefined;
  for (;;) {
    await waitForFunds(ctx, moreThanWei === undefined ? {} : { moreThanWei });
    try {
      await withRetries(ctx.log, "register and stake", () => ensureRegistered(ctx), ctx.shutdown);
      return;
    } catch (error) {
      if (ctx.shutdown.aborted || !isInsufficientFunds(error)) throw error;
      moreThanWei = await ctx.provider.getBalance(ctx.address);
      ctx.log.warn(describeFundsError(ctx, error) as string);
    }
  }
}

/** Polls before a job refused for lack of stake or capacity is evaluated again. */
const RETRY_POLLS = 10;
/** How often the stake is checked against the target (slashes, new funds). */
const STAKE_CHECK_MS = 30_000;
/** How often an `ipfs` store is collected of content past its retention, besides after a job. */
const COLLECT_MS = 3_600_000;

async function mainLoop(ctx: WorkerContext, discovery: Discovery): Promise<void> {
  const { log, shutdown } = ctx;
  const drivers = new Map<string, Promise<void>>();
  // Jobs refused for good, and jobs refused for now (stake or capacity) with the poll after
  // which they are looked at again.
  const rejected = new Set<string>();
  const deferred = new Map<string, { job: PostedJob; retryAt: number }>();
  let polls = 0;
  let lastStakeCheck = Date.now();
  let lastCollect = 0;
  let failing = false;

  // A job whose step failed waits before the next attempt, doubling up to a minute, so a
  // persistent failure (an image that cannot be fetched) does not spin.
  const backoff = new Map<string, { until: number; delayMs: number }>();
  const drive = (jobId: string) => {
    if (drivers.has(jobId) || shutdown.aborted) return;
    const wait = backoff.get(jobId);
    if (wait !== undefined && Date.now() < wait.until) return;
    const run = (async () => {
      while (!shutdown.aborted) {
        const state = ctx.jobs.get(jobId);
        if (state === undefined || !(isActive(state) || needsCleanUp(state))) return;
        let progressed: boolean;
        try {
          if (isActive(state)) progressed = await advanceJob(ctx, state);
          else {
            await cleanUpJob(ctx, state);
            progressed = false;
          }
          backoff.delete(jobId);
        } catch (error) {
          if (shutdown.aborted) return;
          const delayMs = Math.min((backoff.get(jobId)?.delayMs ?? 500) * 2, 60_000);
          backoff.set(jobId, { until: Date.now() + delayMs, delayMs });
          log.warn("job step failed; will retry", {
            jobId,
            phase: state.phase,
            retryInMs: delayMs,
            reason: describeFundsError(ctx, error) ?? describeChainError(error),
          });
          return;
        }
        if (!progressed) return;
      }
    })().finally(() => drivers.delete(jobId));
    drivers.set(jobId, run);
  };

  while (!shutdown.aborted) {
    try {
      const { posted } = await discovery.poll();
      polls++;
      const due = [...deferred.values()].filter((d) => d.retryAt <= polls).map((d) => d.job);
      for (const job of [...posted, ...due]) {
        const key = job.jobId.toString();
        deferred.delete(key);
        if (ctx.jobs.has(key) || rejected.has(key) || shutdown.aborted) continue;
        const result = await considerJob(ctx, job);
        if (result.outcome === "skip") {
          if (result.retryable) deferred.set(key, { job, retryAt: polls + RETRY_POLLS });
          else rejected.add(key);
        }
      }
      if (Date.now() - lastCollect > COLLECT_MS) {
        // Results bundles whose retention (limits.keepResultsHours) ran out since the last pass.
        lastCollect = Date.now();
        await collectContent(ctx);
      }
      if (Date.now() - lastStakeCheck > STAKE_CHECK_MS) {
        lastStakeCheck = Date.now();
        await topUpStake(ctx);
      }
      if (failing) log.info("node reachable again");
      failing = false;
    } catch (error) {
      if (!failing)
        log.warn("polling the chain failed; retrying", {
          reason: describeFundsError(ctx, error) ?? describeChainError(error),
        });
      failing = true;
    }
    for (const [jobId, state] of ctx.jobs) {
      if (isActive(state) || needsCleanUp(state)) drive(jobId);
    }
    ctx.metrics.activeJobs.set([...ctx.jobs.values()].filter(isActive).length);
    ctx.metrics.journalLagSeconds.set(ctx.journal.msSinceLastWrite / 1000);
    ctx.metrics.chainLagBlocks.set(discovery.lag);
    await sleep(ctx.config.pollIntervalMs, shutdown);
  }
  log.info("shutting down: waiting for steps in flight", { steps: drivers.size });
  await Promise.allSettled([...drivers.values()]);
}

async function withRetries<T>(
  log: Logger,
  what: string,
  work: () => Promise<T>,
  signal: AbortSignal,
  attempts = 10,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ConfigError || attempt >= attempts || signal.aborted) throw error;
      if (isInsufficientFunds(error)) throw error;
      if ((error as { code?: string }).code === "chain-id-mismatch") throw error;
      log.warn(`${what} failed; retrying`, { attempt, reason: describeChainError(error) });
      await sleep(Math.min(500 * 2 ** attempt, 5000), signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
