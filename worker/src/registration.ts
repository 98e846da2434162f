// Registers the provider with this machine's capabilities, keeps them current, and tops the
// stake up to the configured target from the wallet's balance.
import { parseUnits } from "ethers";
import type { WorkerContext } from "./context.ts";

export async function ensureRegistered(ctx: WorkerContext): Promise<void> {
  const { registry } = ctx.contracts;
  const log = ctx.log.child("registration");
  const me = ctx.address;
  const wanted = {
    cpuMillicores: ctx.offer.cpuMillicores,
    memoryMiB: ctx.offer.memoryMiB,
    gpuCount: ctx.offer.gpuCount,
  };
  const [registered, current] = await registry.capabilitiesOf(me);
  const send = (action: string, tx: Parameters<WorkerContext["sender"]["send"]>[1]) =>
    ctx.sender.send(action, tx, {
      beforeBroadcast: (hash) => ctx.record({ type: "tx-signed", action, hash }),
    });
  if (!registered) {
    await send("register", await registry.register.populateTransaction(wanted, ""));
    log.info("registered", wanted);
  } else if (
    Number(current.cpuMillicores) !== wanted.cpuMillicores ||
    Number(current.memoryMiB) !== wanted.memoryMiB ||
    Number(current.gpuCount) !== wanted.gpuCount
  ) {
    await send("updateProvider", await registry.updateProvider.populateTransaction(wanted, ""));
    log.info("capabilities updated", wanted);
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
    log.warn("wallet balance too low to reach the stake target", { stake, target, balance });
  }
  if (amount === 0n) return;
  const registryAddress = await registry.getAddress();
  if ((await token.allowance(me, registryAddress)) < amount) {
    await send("approve", await token.approve.populateTransaction(registryAddress, amount));
  }
  await send("stake", await registry.stake.populateTransaction(amount));
  ctx.metrics.stakeWei.set(Number(stake + amount));
  log.info("staked", { amount, stake: stake + amount });
}
