/**
 * Results verification in the browser, by the rules of sdk/results (the CLI's
 * `verifyBundle`): for each replica group that reached quorum, take a bundle revealed with
 * the winning root, check that its results.json states that root, recompute every task's
 * canonical output hash from the downloaded files (sorted `<path>\0<sha256 hex>\n` lines,
 * SHA-256 over them), and check each claim's Merkle proof against the on-chain root. A task
 * without files is accepted only as the status sentinel of an unsuccessful task.
 *
 * The file bytes come through the gateway, which verified them against their CIDs; the
 * check here is the stronger one: it ties every byte to the root the quorum agreed on chain.
 */
import type { JobDetails, JobGroup } from "../../../sdk/queries/jobs.ts";
import {
  TASK_STATUSES,
  type TaskStatus,
  unsuccessfulTaskHash,
} from "../../../sdk/results/bundle.ts";
import { groupBundleName } from "../../../sdk/results/layout.ts";
import { proofFor, resultTree, verifyTaskProof } from "../../../sdk/results/merkle.ts";
import { attentionReason, type TaskOutcome, taskOutcomeOf } from "../../../sdk/results/outcome.ts";
import { contentUrl, fetchBytes, listDirectory } from "./gateway.ts";

export type TaskVerdict =
  | "verified"
  | "output-mismatch"
  | "missing-output"
  | "not-in-root"
  | "not-in-bundle";

export interface VerifiedFile {
  path: string;
  size: number;
  url: string;
}

export interface TaskCheck {
  index: number;
  groupId: number;
  status: TaskStatus | "unknown";
  verdict: TaskVerdict;
  claimedHash: string;
  actualHash?: string;
  files: VerifiedFile[];
  /**
   * The provider's report of how the task ended (exit code, stderr tail, reason): outside the
   * leaf, so NOT verified; escaped and bounded by sdk/results/outcome.ts, as the CLI does.
   */
  outcome: TaskOutcome;
  /** Why the task deserves a look (failed, exit ≠ 0, empty output), when it does. */
  attention?: string;
}

export interface GroupCheck {
  groupId: number;
  root: string;
  resultsCid: string;
  /** The bundle states the on-chain root and its claims rebuild it. */
  rootMatches: boolean;
  tasks: TaskCheck[];
}

export interface JobCheck {
  ok: boolean;
  groups: GroupCheck[];
  /** Groups without quorum: their tasks were refunded, there is nothing to verify. */
  skippedGroups: number[];
}

interface ResultsFile {
  version: 1;
  groupId: string;
  root: string;
  tasks: ({
    index: number;
    outputHash: string;
    status: TaskStatus;
    proof?: string[];
  } & TaskOutcome)[];
}

const BYTES32 = /^0x[0-9a-f]{64}$/;

function parseResults(bytes: Uint8Array): ResultsFile {
  const raw = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ResultsFile>;
  const valid =
    raw.version === 1 &&
    typeof raw.groupId === "string" &&
    /^\d+$/.test(raw.groupId) &&
    typeof raw.root === "string" &&
    BYTES32.test(raw.root) &&
    Array.isArray(raw.tasks) &&
    raw.tasks.length > 0 &&
    raw.tasks.every(
      (t) =>
        Number.isSafeInteger(t.index) &&
        t.index >= 0 &&
        typeof t.outputHash === "string" &&
        BYTES32.test(t.outputHash) &&
        (TASK_STATUSES as readonly string[]).includes(t.status) &&
        (t.proof === undefined ||
          (Array.isArray(t.proof) && t.proof.every((p) => BYTES32.test(p)))),
    );
  if (!valid) throw new Error("results.json is malformed");
  // Like sdk/results readBundle: the informational outcome fields are kept only when
  // well-formed, escaped and bounded, never a reason to refuse the bundle.
  const tasks = (raw.tasks as (ResultsFile["tasks"][number] & Record<string, unknown>)[]).map(
    ({ index, outputHash, status, proof, exitCode, stderrTail, reason }) => ({
      index,
      outputHash,
      status,
      ...(proof !== undefined ? { proof } : {}),
      ...taskOutcomeOf({ exitCode, stderrTail, reason }),
    }),
  );
  return { ...(raw as ResultsFile), tasks };
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** sdk/results outputHash over in-memory files (paths relative to the task's /output). */
export async function outputHashOf(files: { path: string; bytes: Uint8Array }[]): Promise<string> {
  const encoder = new TextEncoder();
  const lines = await Promise.all(
    files.map(async (file) => ({
      path: encoder.encode(file.path),
      sha: hex(await crypto.subtle.digest("SHA-256", new Uint8Array(file.bytes))),
    })),
  );
  lines.sort((x, y) => compareUtf8(x.path, y.path));
  const parts: Uint8Array[] = [];
  for (const line of lines) {
    parts.push(line.path, encoder.encode(`\0${line.sha}\n`));
  }
  const total = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return `0x${hex(await crypto.subtle.digest("SHA-256", total))}`;
}

/**
 * Tries the bundle of each provider that revealed the winning root until one verifies in
 * full: any one of them is as good as another, and one bad bundle (unavailable, or a provider
 * that revealed the right root with a useless CID) must not hide the others.
 */
async function checkGroup(gatewayUrl: string, group: JobGroup): Promise<GroupCheck> {
  const root = (group.winningRoot ?? "").toLowerCase();
  const cids = [
    ...new Set(
      group.members
        .filter((m) => m.resultRoot?.toLowerCase() === root && m.resultsCid)
        .map((m) => m.resultsCid as string),
    ),
  ];
  if (cids.length === 0) {
    throw new Error(`group ${group.groupId}: no provider revealed a bundle with the winning root`);
  }
  let first: GroupCheck | undefined;
  let lastError: unknown;
  for (const cid of cids) {
    try {
      const check = await checkBundle(gatewayUrl, group, root, cid);
      if (check.rootMatches && check.tasks.every((t) => t.verdict === "verified")) return check;
      first ??= check;
    } catch (error) {
      lastError = error;
    }
  }
  if (first !== undefined) return first;
  throw lastError;
}

async function checkBundle(
  gatewayUrl: string,
  group: JobGroup,
  root: string,
  cid: string,
): Promise<GroupCheck> {
  const listing = await listDirectory(gatewayUrl, cid);
  // A provider reveals one CID for all its groups: the bundle is the group's own, or a folder
  // of `group-<id>/` bundles (sdk/results/layout.ts, which findGroupBundle reads on disk).
  const wanted = String(group.groupId);
  const hasIndex = (prefix: string) =>
    listing.entries.some((e) => e.type === "file" && e.path === `${prefix}results.json`);
  let base: string | undefined;
  let results: ResultsFile | undefined;
  for (const prefix of ["", `${groupBundleName(group.groupId)}/`]) {
    if (!hasIndex(prefix)) continue;
    const candidate = parseResults(await fetchBytes(gatewayUrl, cid, `${prefix}results.json`));
    if (candidate.groupId === wanted) {
      base = prefix;
      results = candidate;
      break;
    }
  }
  if (base === undefined || results === undefined) {
    throw new Error(`bundle ${cid} has no results.json for group ${wanted}`);
  }

  const computedRoot = resultTree(results.tasks).root;
  const rootMatches = results.root === root && computedRoot === root;
  const tasks: TaskCheck[] = [];
  for (let index = group.taskStart; index < group.taskStart + group.taskCount; index++) {
    const claim = results.tasks.find((t) => t.index === index);
    const task = { index, groupId: group.groupId, files: [] as VerifiedFile[] };
    if (claim === undefined) {
      tasks.push({
        ...task,
        status: "unknown",
        verdict: "not-in-bundle",
        claimedHash: "",
        outcome: {},
      });
      continue;
    }
    const outcome = taskOutcomeOf(claim);
    const claimBase = { ...task, status: claim.status, claimedHash: claim.outputHash, outcome };
    const proof = claim.proof ?? proofFor(results.tasks, claim.index);
    if (!verifyTaskProof(root, claim.index, claim.outputHash, proof)) {
      tasks.push({ ...claimBase, verdict: "not-in-root" });
      continue;
    }
    const prefix = `${base}tasks/${index}/`;
    const entries = listing.entries.filter((e) => e.type === "file" && e.path.startsWith(prefix));
    const hasDir = listing.entries.some((e) => e.path === `${base}tasks/${index}`);
    if (!hasDir) {
      const sentinel = unsuccessfulTaskHash(claim.status);
      const attention = attentionReason({ status: claim.status, outcome });
      tasks.push({
        ...claimBase,
        ...(attention !== undefined ? { attention } : {}),
        verdict:
          claim.status !== "succeeded" && claim.outputHash === sentinel
            ? "verified"
            : "missing-output",
      });
      continue;
    }
    const files = await Promise.all(
      entries.map(async (e) => ({
        path: e.path.slice(prefix.length),
        bytes: await fetchBytes(gatewayUrl, cid, e.path),
      })),
    );
    const actualHash = await outputHashOf(files);
    const attention = attentionReason({
      status: claim.status,
      outcome,
      output: { files: files.length, bytes: files.reduce((sum, f) => sum + f.bytes.length, 0) },
    });
    tasks.push({
      ...claimBase,
      ...(attention !== undefined ? { attention } : {}),
      actualHash,
      verdict: actualHash === claim.outputHash ? "verified" : "output-mismatch",
      files: files.map((f) => ({
        path: f.path,
        size: f.bytes.length,
        url: contentUrl(gatewayUrl, cid, `${prefix}${f.path}`),
      })),
    });
  }
  return { groupId: group.groupId, root, resultsCid: cid, rootMatches, tasks };
}

/** Checks every agreed group of a finalized job against its on-chain winning root. */
export async function verifyJobResults(gatewayUrl: string, job: JobDetails): Promise<JobCheck> {
  const groups: GroupCheck[] = [];
  const skippedGroups: number[] = [];
  for (const group of job.groups) {
    if (group.outcome !== "Agreed" || group.winningRoot === null) {
      skippedGroups.push(group.groupId);
      continue;
    }
    groups.push(await checkGroup(gatewayUrl, group));
  }
  const ok =
    groups.length > 0 &&
    groups.every((g) => g.rootMatches && g.tasks.every((t) => t.verdict === "verified"));
  return { ok, groups, skippedGroups };
}
