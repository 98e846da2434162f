// What every task action shares: a requester context from the Hardhat runtime, a job id
// parser, and error output that shows the sentence (and its code) instead of a stack trace.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ConunError } from "../../sdk/errors.ts";
import { createLogger } from "../../sdk/logger.ts";
import { escapeUntrusted } from "../../sdk/text.ts";
import { connectRequester, type RequesterContext } from "../context.ts";
import { RequesterError } from "../errors.ts";

export async function requesterFromHre(
  hre: HardhatRuntimeEnvironment,
  options: { store?: string; storePeer?: string; account?: number; subgraph?: string },
): Promise<RequesterContext> {
  const { ethers, networkConfig } = await hre.network.create();
  const signers = await ethers.getSigners();
  const signer = signers[options.account ?? 0];
  if (signer === undefined) {
    throw new RequesterError(
      "invalid-argument",
      `--account ${options.account}: this network has ${signers.length} account(s)`,
    );
  }
  return connectRequester({
    signer,
    ...(hre.globalOptions.network ? { networkName: hre.globalOptions.network } : {}),
    storeDir: options.store,
    // An HTTP network's URL: when it is a running demo's chain, its deployment and content
    // store are the defaults (sdk/devnet.ts).
    ...(networkConfig.type === "http" ? { rpcUrl: await networkConfig.url.get() } : {}),
    ...(options.storePeer ? { storePeers: options.storePeer.split(",") } : {}),
    ...(options.subgraph ? { subgraphUrl: options.subgraph } : {}),
    log: createLogger({ level: process.env.CONUN_LOG_LEVEL === "debug" ? "debug" : "warn" }),
  });
}

/** Runs `action` as the task's requester (--account, --store), closing its content store after. */
export async function withRequester(
  hre: HardhatRuntimeEnvironment,
  options: { store?: string; storePeer?: string; account?: number; subgraph?: string },
  action: (ctx: RequesterContext) => Promise<void>,
): Promise<void> {
  const ctx = await requesterFromHre(hre, options);
  try {
    await action(ctx);
  } finally {
    await ctx.store.close();
  }
}

export function parseJobId(value: string): bigint {
  if (!/^\d+$/.test(value.trim()) || BigInt(value) === 0n) {
    throw new RequesterError(
      "invalid-argument",
      `--job must be a job id (1, 2, …), got "${value}"`,
    );
  }
  return BigInt(value);
}

/**
 * Runs an action; a ConunError becomes `error: <message> [<code>]` and exit code 1. The message
 * is escaped (sdk/text.ts; only a manifest's list of problems keeps its lines): it may quote a
 * revert string, a manifest field or a bundle's names.
 */
export async function runAction(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof ConunError) {
      console.error(
        `error: ${escapeUntrusted(error.message, { multiline: true })} [${error.code}]`,
      );
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
