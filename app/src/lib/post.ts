/**
 * Posting a job from the browser, by the rules of requester/post.ts (the CLI): validate the
 * manifest with the SDK's schema, upload inputs and the canonical manifest bytes through the
 * gateway, derive the on-chain spec with `specFromManifest`, then fund the escrow with an
 * EIP-2612 permit (one transaction) or an approval, and post.
 */
import type { TransactionReceipt } from "ethers";
import { signPermit } from "../../../sdk/chain/permit.ts";
import { parseManifest } from "../../../sdk/manifest/parse.ts";
import type { Manifest } from "../../../sdk/manifest/schema.ts";
import { manifestDigest, serializeManifest } from "../../../sdk/manifest/serialize.ts";
import { specFromManifest } from "../../../sdk/manifest/spec.ts";
import { upload } from "./gateway.ts";
import type { Session } from "./session.ts";

export type Funding = "permit" | "approve";

export interface LocalInput {
  /** Mount path under /input. */
  path: string;
  file: File;
}

export type PostProgress = (step: string) => void;

export interface PostedJob {
  jobId: bigint;
  txHash: string;
  manifestCid: string;
  escrow: bigint;
}

/**
 * Turns a source manifest object into a resolved one: each `inputs[].source` must name one of
 * the files the user picked (by file name); those are uploaded and replaced by their CIDs.
 */
export async function resolveInBrowser(
  source: Record<string, unknown>,
  files: File[],
  gatewayUrl: string,
  progress: PostProgress,
): Promise<Manifest> {
  parseManifest(source, { form: "source" });
  const image = source.image as Record<string, unknown>;
  if (typeof image.archive === "string") {
    throw new Error(
      "image.archive needs the command line (the image ID is read from the tarball): give image.ref and image.id instead",
    );
  }
  const resolved = structuredClone(source);
  if (Array.isArray(source.inputs)) {
    const inputs: Record<string, unknown>[] = [];
    for (const input of source.inputs as Record<string, unknown>[]) {
      if (typeof input.source !== "string") {
        inputs.push(input);
        continue;
      }
      const name = input.source.split("/").pop() ?? input.source;
      const file = files.find((f) => f.name === name);
      if (file === undefined) {
        throw new Error(`input ${input.path} needs the file ${name}: add it with "Input files"`);
      }
      progress(`uploading ${file.name}`);
      const cid = await upload(gatewayUrl, file);
      const { source: _source, ...rest } = input;
      inputs.push({ ...rest, cid });
    }
    resolved.inputs = inputs;
  }
  return parseManifest(resolved, { form: "resolved" });
}

async function wait(tx: {
  wait(confirms?: number, timeout?: number): Promise<TransactionReceipt | null>;
}) {
  const receipt = await tx.wait(1, 120_000);
  if (receipt === null) throw new Error("the transaction was not mined");
  return receipt;
}

export async function postManifest(
  session: Session,
  manifest: Manifest,
  gatewayUrl: string,
  funding: Funding,
  progress: PostProgress,
): Promise<PostedJob> {
  const { token, market } = session.contracts;
  const text = serializeManifest(manifest);
  const bytes = new TextEncoder().encode(text);
  progress("uploading the manifest");
  const manifestCid = await upload(gatewayUrl, bytes);
  const spec = specFromManifest(manifest, { manifestCid, manifestDigest: manifestDigest(bytes) });
  const escrow = BigInt(spec.taskCount) * BigInt(spec.replication) * spec.maxPrice;
  const balance = await token.balanceOf(session.address);
  if (balance < escrow) {
    throw new Error(
      `This job escrows ${escrow / 10n ** 18n} CONUN (tasks × k × max price) but the account holds less. Get more CONUN or lower the price or task count.`,
    );
  }
  const marketAddress = await market.getAddress();
  let receipt: TransactionReceipt;
  if (funding === "permit") {
    progress("signing the permit in your wallet");
    const { deadline, v, r, s } = await signPermit(session.signer, token, marketAddress, escrow);
    progress("posting the job");
    receipt = await wait(await market.postJobWithPermit(spec, deadline, v, r, s));
  } else {
    const allowance = await token.allowance(session.address, marketAddress);
    if (allowance < escrow) {
      progress("approving the escrow");
      await wait(await token.approve(marketAddress, escrow));
    }
    progress("posting the job");
    receipt = await wait(await market.postJob(spec));
  }
  for (const log of receipt.logs) {
    const parsed = market.interface.parseLog(log);
    if (parsed?.name === "JobPosted") {
      return { jobId: parsed.args.jobId as bigint, txHash: receipt.hash, manifestCid, escrow };
    }
  }
  throw new Error(`no JobPosted event in transaction ${receipt.hash}`);
}

/** A source manifest built from the form's fields. */
export interface JobForm {
  name: string;
  imageRef: string;
  imageId: string;
  command: string;
  taskCount: number;
  k: number;
  quorum: number;
  maxPrice: string;
  stake: string;
  biddingSeconds: number;
  executionSeconds: number;
  revealSeconds: number;
  cpuMillicores: number;
  memoryMiB: number;
  timeoutSeconds: number;
}

export function manifestFromForm(form: JobForm, inputs: LocalInput[]): Record<string, unknown> {
  return {
    version: 1,
    name: form.name,
    deterministic: true,
    image: { ref: form.imageRef.trim(), id: form.imageId.trim() },
    command: splitCommand(form.command),
    inputs: inputs.map((input) => ({ source: input.file.name, path: input.path })),
    tasks: { count: form.taskCount },
    resources: {
      cpuMillicores: form.cpuMillicores,
      memoryMiB: form.memoryMiB,
      timeoutSeconds: form.timeoutSeconds,
    },
    replication: { k: form.k, quorum: form.quorum },
    price: { maxPerTaskReplica: form.maxPrice.trim(), stakePerTaskReplica: form.stake.trim() },
    windows: {
      biddingSeconds: form.biddingSeconds,
      executionSeconds: form.executionSeconds,
      revealSeconds: form.revealSeconds,
    },
  };
}

/** Splits a command line on spaces, honouring "double quotes" for arguments with spaces. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(match[1] ?? match[2] ?? "");
  return out;
}
