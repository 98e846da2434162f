// conun:post as a function: validate the source manifest, upload the image archive and inputs,
// store the resolved manifest, fund the escrow (permit in the same transaction, or approve),
// and post. Nothing is uploaded and no transaction is sent until the whole manifest is valid.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { formatUnits } from "ethers";
import YAML from "yaml";
import type { FillDiagnosis } from "../sdk/chain/diagnose.ts";
import { signPermit } from "../sdk/chain/permit.ts";
import {
  parseManifest,
  type SourceManifest,
  serializeManifest,
  specFromManifest,
} from "../sdk/manifest/index.ts";
import type { IJobMarket } from "../types/ethers-contracts/JobMarket.ts";
import { hardhatCommand, type RequesterContext } from "./context.ts";
import { RequesterError } from "./errors.ts";
import { imageIdOfArchive } from "./image-archive.ts";
import { checkFillable, describeFillCheck } from "./reasons.ts";
import { send } from "./tx.ts";

/**
 * How the escrow is funded: `permit` signs an EIP-2612 permit that postJobWithPermit uses in
 * the same transaction (one transaction, no standing allowance); `approve` sends an approval
 * first when the allowance is short; `existing` relies on the allowance already given.
 */
export type ApprovalMode = "permit" | "approve" | "existing";

export interface PostOptions {
  /** A source manifest file (JSON, or YAML by extension .yaml/.yml). */
  manifestPath?: string;
  /** Or the manifest itself; relative paths in it resolve against `baseDir`. */
  manifest?: unknown;
  baseDir?: string;
  approval?: ApprovalMode;
  /** Seconds the permit stays valid (default 1 hour). */
  permitTtlSeconds?: number;
  /**
   * Called before the job is posted with what the registered providers can take (enough of
   * them for k, resources, free stake, published price floors). Posting goes ahead either way:
   * providers may still register or stake before bidding closes, and an Unfilled job refunds
   * its whole escrow.
   */
  onFillCheck?: (check: FillDiagnosis, lines: string[]) => void | Promise<void>;
  /**
   * Max price per task-replica in token wei, replacing the manifest's
   * `price.maxPerTaskReplica` (e.g. a price proposal's; see price.ts).
   */
  maxPrice?: bigint;
}

export interface PostResult {
  jobId: bigint;
  txHash: string;
  blockNumber: number;
  manifestCid: string;
  manifestDigest: string;
  /** The resolved manifest exactly as stored (the bytes `manifestDigest` covers). */
  manifestText: string;
  escrow: bigint;
  biddingDeadline: bigint;
  spec: IJobMarket.JobSpecStruct;
  approval: ApprovalMode;
  /** The pre-post check of the registered providers (see `onFillCheck`). */
  fillCheck: FillDiagnosis;
}

type Json = Record<string, unknown>;

/** Reads a manifest file as JSON or YAML; a syntax error is a manifest error. */
export async function readManifestFile(file: string): Promise<unknown> {
  const text = await readFile(file, "utf8").catch((cause: unknown) => {
    throw new RequesterError("manifest-unreadable", `cannot read manifest ${file}`, { cause });
  });
  try {
    return /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (cause) {
    throw new RequesterError(
      "manifest-unreadable",
      `manifest ${file} is not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"}: ${
        (cause as Error).message
      }`,
      { cause },
    );
  }
}

/**
 * Turns a validated source manifest into the resolved form: local files go into the content
 * store and are replaced by their CIDs. Returns a plain object ready for validation.
 */
export async function resolveManifest(
  ctx: RequesterContext,
  source: Json,
  baseDir: string,
): Promise<Json> {
  const resolved: Json = structuredClone(source);
  const image = source.image as Json;
  if (typeof image.archive === "string") {
    const archive = path.resolve(baseDir, image.archive);
    const id = await imageIdOfArchive(archive);
    ctx.log.info("uploading image archive", { archive, id });
    const cid = await ctx.store.addFile(archive);
    resolved.image = { ref: `ipfs://${cid}`, id };
  }
  if (Array.isArray(source.inputs)) {
    const inputs: Json[] = [];
    for (const input of source.inputs as Json[]) {
      if (typeof input.source !== "string") {
        inputs.push(input);
        continue;
      }
      const local = path.resolve(baseDir, input.source);
      const info = await stat(local).catch((cause: unknown) => {
        throw new RequesterError("manifest-unreadable", `input ${local} does not exist`, { cause });
      });
      ctx.log.info("uploading input", { source: local, path: input.path });
      const cid = info.isDirectory()
        ? await ctx.store.addDirectory(local)
        : await ctx.store.addFile(local);
      const { source: _source, ...rest } = input;
      inputs.push({ ...rest, cid });
    }
    resolved.inputs = inputs;
  }
  return resolved;
}

/**
 * The source manifest `options` names (file or object), with `maxPrice` applied, validated:
 * every problem is reported before anything is uploaded. `baseDir` is where its relative paths
 * resolve.
 */
export async function readSourceManifest(
  options: Pick<PostOptions, "manifestPath" | "manifest" | "baseDir" | "maxPrice">,
): Promise<{ source: SourceManifest; baseDir: string }> {
  let raw =
    options.manifest ??
    (options.manifestPath === undefined
      ? undefined
      : await readManifestFile(path.resolve(options.manifestPath)));
  if (raw === undefined) {
    throw new RequesterError("invalid-argument", "no manifest given: pass --manifest <file>");
  }
  if (options.maxPrice !== undefined && typeof raw === "object" && raw !== null) {
    const price = (raw as Json).price;
    raw = {
      ...(raw as Json),
      price: {
        ...(typeof price === "object" && price !== null ? price : {}),
        maxPerTaskReplica: formatUnits(options.maxPrice, 18),
      },
    };
  }
  const baseDir = path.resolve(
    options.baseDir ??
      (options.manifestPath === undefined ? "." : path.dirname(options.manifestPath)),
  );
  return { source: parseManifest(raw, { form: "source" }), baseDir };
}

/** Validates, uploads and posts a job; returns its id and what went on chain. */
export async function postJob(ctx: RequesterContext, options: PostOptions): Promise<PostResult> {
  const approval = options.approval ?? "permit";
  const read = await readSourceManifest(options);
  const baseDir = read.baseDir;
  const source = read.source as unknown as Json;
  const resolvedObject = await resolveManifest(ctx, source, baseDir);
  const resolved = parseManifest(resolvedObject, { form: "resolved" });
  const manifestText = serializeManifest(resolved);
  const bytes = new TextEncoder().encode(manifestText);
  const manifestCid = await ctx.store.addBytes(bytes);
  const manifestDigest = `0x${createHash("sha256").update(bytes).digest("hex")}`;
  const spec = specFromManifest(resolved, { manifestCid, manifestDigest });
  const escrow = BigInt(spec.taskCount) * BigInt(spec.replication) * BigInt(spec.maxPrice);
  ctx.log.info("manifest stored", { manifestCid, escrow: formatUnits(escrow, 18) });

  await checkFunds(ctx, escrow, approval);
  const fillCheck = await checkFillable(ctx, {
    taskCount: spec.taskCount,
    replication: spec.replication,
    maxPrice: spec.maxPrice,
    stakePerTaskReplica: spec.stakePerTaskReplica,
    cpuMillicores: spec.cpuMillicores,
    memoryMiB: spec.memoryMiB,
    gpuCount: spec.gpuCount,
    timeoutSeconds: resolved.resources.timeoutSeconds,
  });
  const fillLines = describeFillCheck(fillCheck);
  ctx.log.info("providers checked", {
    canFill: fillCheck.canFill,
    eligible: fillCheck.eligible.length,
    backed: fillCheck.eligibleCapacity,
    needed: fillCheck.needed,
  });
  await options.onFillCheck?.(fillCheck, fillLines);
  const receipt =
    approval === "permit"
      ? await postWithPermit(ctx, spec, escrow, options.permitTtlSeconds ?? 3600)
      : await postWithAllowance(ctx, spec, escrow, approval);

  for (const log of receipt.logs) {
    const parsed = ctx.market.interface.parseLog(log);
    if (parsed?.name === "JobPosted") {
      const jobId = parsed.args.jobId as bigint;
      ctx.log.info("job posted", { jobId, tx: receipt.hash });
      return {
        jobId,
        txHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        manifestCid,
        manifestDigest,
        manifestText,
        escrow,
        biddingDeadline: parsed.args.biddingDeadline as bigint,
        spec,
        approval,
        fillCheck,
      };
    }
  }
  throw new RequesterError("transaction-reverted", `no JobPosted event in ${receipt.hash}`);
}

async function checkFunds(ctx: RequesterContext, escrow: bigint, approval: ApprovalMode) {
  const balance = await ctx.token.balanceOf(ctx.account);
  if (balance < escrow) {
    const local = ctx.chainId === 31337 || ctx.chainId === 1337;
    throw new RequesterError(
      "insufficient-tokens",
      `${ctx.account} holds ${formatUnits(balance, 18)} CONUN but the job escrows ` +
        `${formatUnits(escrow, 18)} CONUN (tasks × k × maxPerTaskReplica). ` +
        (local
          ? `Get tokens with: ${hardhatCommand(ctx, `conun:faucet --to ${ctx.account} --amount ${formatUnits(escrow - balance, 18)}`)}`
          : "Acquire more CONUN, or lower price.maxPerTaskReplica or tasks.count."),
      { details: { balance, escrow } },
    );
  }
  if (approval === "existing") {
    const allowance = await ctx.token.allowance(ctx.account, ctx.deployment.market);
    if (allowance < escrow) {
      throw new RequesterError(
        "insufficient-allowance",
        `the market may spend ${formatUnits(allowance, 18)} of your CONUN but the escrow is ` +
          `${formatUnits(escrow, 18)} CONUN: post with --approval permit (one transaction) or ` +
          "--approval approve",
        { details: { allowance, escrow } },
      );
    }
  }
}

async function postWithAllowance(
  ctx: RequesterContext,
  spec: IJobMarket.JobSpecStruct,
  escrow: bigint,
  approval: ApprovalMode,
) {
  if (approval === "approve") {
    const allowance = await ctx.token.allowance(ctx.account, ctx.deployment.market);
    if (allowance < escrow) {
      await send(ctx, "approve", () => ctx.token.approve(ctx.deployment.market, escrow));
    }
  }
  return send(ctx, "postJob", () => ctx.market.postJob(spec));
}

async function postWithPermit(
  ctx: RequesterContext,
  spec: IJobMarket.JobSpecStruct,
  escrow: bigint,
  ttlSeconds: number,
) {
  const { deadline, v, r, s } = await signPermit(
    ctx.signer,
    ctx.token,
    ctx.deployment.market,
    escrow,
    ttlSeconds,
  );
  return send(ctx, "postJobWithPermit", () =>
    ctx.market.postJobWithPermit(spec, deadline, v, r, s),
  );
}
