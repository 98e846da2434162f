// Scenarios for the "why" tests (test/requester/reasons.test.ts, test/auditor/reasons.test.ts):
// providers registered with chosen stake and metadata, a job that ends Unfilled, and a job whose
// one replica group reveals three different roots with three different bundle CIDs.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  commitAll,
  DEFAULT_PROVIDER_STAKE,
  ONE,
  type Protocol,
  passTime,
  resultRoot,
  saltOf,
} from "../../devnet/protocol.ts";
import { postJob } from "../../requester/post.ts";
import { type RequesterFixture, sourceManifest } from "./fixtures.ts";

/** Registers `provider` with generous capabilities, `metadataURI` and `stake` staked. */
export async function registerProvider(
  p: Protocol,
  provider: HardhatEthersSigner,
  options: { stake?: bigint; metadataURI?: string } = {},
): Promise<void> {
  const stake = options.stake ?? DEFAULT_PROVIDER_STAKE;
  await p.token.transfer(provider.address, stake + ONE);
  await p.registry
    .connect(provider)
    .register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, options.metadataURI ?? "");
  await p.token.connect(provider).approve(await p.registry.getAddress(), stake);
  await p.registry.connect(provider).stake(stake);
}

/** Moves past the bidding deadline and closes bidding. */
export async function closeBidding(f: RequesterFixture, jobId: bigint): Promise<void> {
  await passTime(f.connection, (await f.p.market.getJob(jobId)).biddingDeadline);
  await f.p.market.closeBidding(jobId);
}

/** The bundle CID provider `i` reveals in the no-quorum scenario. */
export const bundleOf = (i: number) => `bafybeibundle${"abc"[i]}`;

/**
 * Posts the default manifest (2 tasks × k=3, q=2) through the requester library, has three
 * registered providers bid 2 each, and makes each commit and reveal a different root with its
 * own bundle CID; finalizes. Returns the job and, per provider, its root.
 */
export async function noQuorumJob(
  f: RequesterFixture,
  providers: HardhatEthersSigner[],
): Promise<{ jobId: bigint; roots: string[] }> {
  const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
  for (const provider of providers) {
    await f.p.market.connect(provider).placeBid(jobId, ONE, 2);
  }
  await closeBidding(f, jobId);
  const roots: string[] = [];
  for (const [i, provider] of providers.entries()) {
    await commitAll(f.connection, f.p, jobId, provider, i);
  }
  for (const [i, provider] of providers.entries()) {
    const assignments = await f.p.market.assignmentsOf(jobId, provider.address);
    const mine = assignments.map((a) => resultRoot(f.connection, jobId, a.groupId, i));
    roots.push(...mine);
    await f.p.market
      .connect(provider)
      .reveal(jobId, mine, saltOf(f.connection, provider.address), bundleOf(i));
  }
  await f.p.market.finalize(jobId);
  return { jobId, roots };
}
