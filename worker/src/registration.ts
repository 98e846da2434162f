// Registers the provider with this machine's capabilities, keeps them current, and tops the
// stake up to the configured target from the wallet's balance. Before any of it, the worker
// makes sure it can pay: an account without ETH for gas (or, when new, without the CONUN to
// stake) says so in one line, with how to fund it, and waits until it is funded instead of
// failing its transactions with the node's opaque error.
import { formatEther, isError, parseUnits } from "ethers";
import { sleep } from "../../sdk/async.ts";
import { pricingMetadataURI } from "../../sdk/chain/pricing.ts";
import { describeError } from "../../sdk/errors.ts";
import { formatConun, type WorkerContext } from "./context.ts";
import { isActive } from "./journal/index.ts";

/**
 * Gas the start-up may spend: register (~90k), approve (~46k) and stake (~70k), with room for
 * the sender's estimate margin and a first bid.
 */
export const START_UP_GAS = 500_000n;
/** Chains whose faucet (`npx hardhat conun:faucet`) can fund the account. */
const LOCAL_CHAIN_IDS = [31337, 1337];
/** How often a waiting worker repeats what it waits for, so the tail of its log says it. */
const REMIND_MS = 60_000;

export async function ensureRegistered(ctx: WorkerContext): Promise<void> {
  const { registry } = ctx.contracts;
  const log = ctx.log.child("registration");
  const me = ctx.address;
  const wanted = {
    cpuMillicores: ctx.offer.cpuMillicores,
    memoryMiB: ctx.offer.memoryMiB,
    gpuCount: ctx.offer.gpuCount,
  };
  // The pricing is published in the registry metadata, so requesters see before posting whether
  // a job's max price meets this provider's floor (sdk/chain/pricing.ts).
  const metadataURI = pricingMetadataURI(ctx.config.pricing);
  const current = await registry.getProvider(me);
  const send = (action: string, tx: Parameters<WorkerContext["sender"]["send"]>[1]) =>
    ctx.sender.send(action, tx, {
      beforeBroadcast: (hash) => ctx.record({ type: "tx-signed", action, hash }),
    });
  if (!current.registered) {
    await send("register", await registry.register.populateTransaction(wanted, metadataURI));
    log.info("registered", { ...wanted, pricing: ctx.config.pricing });
  } else if (
    Number(current.capabilities.cpuMillicores) !== wanted.cpuMillicores ||
    Number(current.capabilities.memoryMiB) !== wanted.memoryMiB ||
    Number(current.capabilities.gpuCount) !== wanted.gpuCount ||
    current.metadataURI !== metadataURI
  ) {
    await send(
      "updateProvider",
      await registry.updateProvider.populateTransaction(wanted, metadataURI),
    );
    log.info("capabilities updated", { ...wanted, pricing: ctx.config.pricing });
  }
  await topUpStake(ctx);
}

/** Stakes from the wallet until the stake reaches the configured target (as far as funds go). */
export async function topUpStake(ctx: WorkerContext): Promise<void> {
  const { registry, token } = ctx.contracts;
  const log = ctx.log.child("registration");
  const me = ctx.address;
  const send = (action: string, tx: Parameters<WorkerContext["sender"]["send"]>[1]) =>
    ctx.sender.send(action, tx, {
      beforeBroadcast: (hash) => ctx.record({ type: "tx-signed", action, hash }),
    });
  const target = parseUnits(ctx.config.stake.target, 18);
  const { stake } = await registry.getProvider(me);
  ctx.metrics.stakeWei.set(Number(stake));
  if (stake >= target) return;
  const balance = await token.balanceOf(me);
  const missing = target - stake;
  let amount = missing;
  if (balance < amount) amount = balance; // bigints: Math.min does not apply
  if (amount < missing) {
    log.warn(
      `wallet balance too low to reach the stake target: ${me} has ${formatConun(stake)} staked ` +
        `and ${formatConun(balance)} in its wallet, the target is ${formatConun(target)}; ` +
        `${fundingHint(ctx, "CONUN")} (or lower stake.target)`,
    );
  }
  if (amount === 0n) return;
  const registryAddress = await registry.getAddress();
  if ((await token.allowance(me, registryAddress)) < amount) {
    await send("approve", await token.approve.populateTransaction(registryAddress, amount));
  }
  await send("stake", await registry.stake.populateTransaction(amount));
  ctx.metrics.stakeWei.set(Number(stake + amount));
  log.info("staked", { amount: formatConun(amount), stake: formatConun(stake + amount) });
}

/** What the account lacks before it can start, or undefined when it can. */
export interface Shortfall {
  kind: "gas" | "stake";
  message: string;
  /** The balance found: a change of it (not of the fee quoted) is news worth a log line. */
  balance: bigint;
}

/**
 * Whether the account can pay for its start-up: ETH for the gas of START_UP_GAS at the node's
 * current fee, and — for a provider that has nothing staked yet and no job in its journal —
 * CONUN to reach the stake target. (A provider that already has stake or jobs to finish
 * starts with what it has: waiting would stop it revealing and claiming.)
 */
export async function checkFunds(
  ctx: WorkerContext,
  options: { moreThanWei?: bigint } = {},
): Promise<Shortfall | undefined> {
  const me = ctx.address;
  const [eth, fees] = await Promise.all([ctx.provider.getBalance(me), ctx.provider.getFeeData()]);
  const gasPrice = fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n;
  let needed = START_UP_GAS * gasPrice;
  if (options.moreThanWei !== undefined && needed <= options.moreThanWei) {
    needed = options.moreThanWei + 1n;
  }
  if (eth < needed) {
    return {
      kind: "gas",
      message:
        `no ETH for gas: ${me} holds ${formatEther(eth)} ETH and needs about ` +
        `${formatEther(needed)} ETH to register and stake; ${fundingHint(ctx, "ETH")}. ` +
        "Waiting for the funds",
      balance: eth,
    };
  }
  const hasJobs = [...ctx.jobs.values()].some(isActive);
  if (hasJobs) return undefined;
  const { stake } = await ctx.contracts.registry.getProvider(me);
  if (stake > 0n) return undefined;
  const target = parseUnits(ctx.config.stake.target, 18);
  const balance = await ctx.contracts.token.balanceOf(me);
  if (balance < target) {
    return {
      kind: "stake",
      message:
        `not enough CONUN to stake: ${me} holds ${formatConun(balance)} and nothing staked, ` +
        `the stake target is ${formatConun(target)}; ${fundingHint(ctx, "CONUN")} ` +
        "(or lower stake.target). Waiting for the funds",
      balance,
    };
  }
  return undefined;
}

/**
 * Waits until `checkFunds` finds nothing missing, polling the balances. It logs what is
 * missing when that changes and once a minute while it waits, and rejects with the shutdown's
 * reason when the worker is stopped meanwhile. `moreThanWei`: a transaction already failed for
 * lack of ETH at this balance, so wait for more than it.
 */
export async function waitForFunds(
  ctx: WorkerContext,
  options: { moreThanWei?: bigint } = {},
): Promise<void> {
  const log = ctx.log.child("funds");
  const pollMs = Math.max(ctx.config.pollIntervalMs, 1000);
  let said: string | undefined;
  let saidAt = 0;
  let waited = false;
  for (;;) {
    let shortfall: Shortfall | undefined;
    try {
      shortfall = await checkFunds(ctx, options);
    } catch (error) {
      ctx.shutdown.throwIfAborted();
      log.warn("could not read the account's balances; retrying", {
        reason: describeError(error),
      });
      await sleep(pollMs, ctx.shutdown);
      continue;
    }
    if (shortfall === undefined) {
      if (waited) log.info(`funded: ${ctx.address} can pay for gas and stake; starting`);
      return;
    }
    waited = true;
    const news = `${shortfall.kind}:${shortfall.balance}`;
    if (news !== said || Date.now() - saidAt >= REMIND_MS) {
      // The amounts are in the message (ETH, CONUN); the kind lets JSON consumers match it.
      log.warn(shortfall.message, { waitingFor: shortfall.kind, address: ctx.address });
      said = news;
      saidAt = Date.now();
    }
    await sleep(pollMs, ctx.shutdown);
  }
}

/** Whether a failed transaction failed because the account cannot pay for its gas. */
export function isInsufficientFunds(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    if (isError(current, "INSUFFICIENT_FUNDS")) return true;
    const record = current as { message?: unknown; info?: unknown; error?: unknown };
    // Hardhat answers "Sender doesn't have enough funds to send tx", which ethers cannot map
    // to INSUFFICIENT_FUNDS ("could not coalesce error"); geth says "insufficient funds".
    const text = `${String(record.message ?? "")} ${JSON.stringify(record.info ?? record.error ?? "", (_key, value) => (typeof value === "bigint" ? value.toString() : value))}`;
    if (/insufficient funds|enough funds/i.test(text)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The reason to log for a failed step: for a transaction the account could not pay for, the
 * plain fact and how to fund it instead of the node's message.
 */
export function describeFundsError(ctx: WorkerContext, error: unknown): string | undefined {
  if (!isInsufficientFunds(error)) return undefined;
  return `no ETH for gas: ${ctx.address} cannot pay for its transactions; ${fundingHint(ctx, "ETH")}`;
}

function fundingHint(ctx: WorkerContext, what: "ETH" | "CONUN"): string {
  if (LOCAL_CHAIN_IDS.includes(ctx.config.chainId)) {
    return `fund it with the local faucet (CONUN and ETH): npx hardhat conun:faucet --network localhost --to ${ctx.address}`;
  }
  return what === "ETH"
    ? `send it ETH on chain ${ctx.config.chainId}`
    : `send it CONUN on chain ${ctx.config.chainId}`;
}
