/**
 * Verifying a finalized job's results from their content addresses, without a file system:
 * for each replica group that reached quorum, take a bundle revealed with the winning root,
 * find the group's `results.json` in it (layout.ts), and check every task of the group's range
 * with verify.ts (the CLI's rules): the claim's Merkle proof against the on-chain root, the
 * canonical output hash recomputed from the downloaded files, a task without files accepted
 * only as the status sentinel of an unsuccessful task. The dApp runs it in the browser over
 * its gateway; it needs only `fetch`-like reads, given as a BundleSource.
 *
 * The file bytes come through a gateway, which verified them against their CIDs; the check
 * here is the stronger one: it ties every byte to the root the quorum agreed on chain.
 */
import type { JobDetails, JobGroup } from "../queries/jobs.ts";
import { parseResultsFile, type TaskStatus } from "./bundle.ts";
import { locateGroupBundle } from "./layout.ts";
import { attentionReason, type TaskOutcome } from "./outcome.ts";
import { outputHashOf } from "./output-hash.ts";
import { verifyResults } from "./verify.ts";

/** Read access to revealed bundles by CID (a content gateway, in the dApp). */
export interface BundleSource {
  /** Every entry below the directory `cid`, with paths relative to it. */
  list(cid: string): Promise<{ entries: { path: string; type: string }[] }>;
  /** The bytes of the file at `path` below `cid`. */
  read(cid: string, path: string): Promise<Uint8Array>;
  /** Where a person can download that file. */
  urlOf(cid: string, path: string): string;
}

export type JobTaskVerdict =
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
  verdict: JobTaskVerdict;
  claimedHash: string;
  actualHash?: string;
  files: VerifiedFile[];
  /**
   * The provider's report of how the task ended (exit code, stderr tail, reason): outside the
   * leaf, so NOT verified; escaped and bounded by outcome.ts, as the CLI does.
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

/**
 * Tries the bundle of each provider that revealed the winning root until one verifies in
 * full: any one of them is as good as another, and one bad bundle (unavailable, or a provider
 * that revealed the right root with a useless CID) must not hide the others.
 */
async function checkGroup(source: BundleSource, group: JobGroup): Promise<GroupCheck> {
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
      const check = await checkBundle(source, group, root, cid);
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
  source: BundleSource,
  group: JobGroup,
  root: string,
  cid: string,
): Promise<GroupCheck> {
  const listing = await source.list(cid);
  const isFile = (path: string) =>
    listing.entries.some((e) => e.type === "file" && e.path === path);
  const { prefix: base, results } = await locateGroupBundle(group.groupId, async (prefix) =>
    isFile(`${prefix}results.json`)
      ? parseResultsFile(await source.read(cid, `${prefix}results.json`))
      : undefined,
  );

  const first = group.taskStart;
  const end = group.taskStart + group.taskCount;
  const files = new Map<number, VerifiedFile[]>();
  const verification = await verifyResults(
    results,
    root,
    async (index) => {
      const prefix = `${base}tasks/${index}/`;
      if (!listing.entries.some((e) => e.path === `${base}tasks/${index}`)) return undefined;
      const entries = listing.entries.filter((e) => e.type === "file" && e.path.startsWith(prefix));
      const downloaded = await Promise.all(
        entries.map(async (e) => ({
          path: e.path.slice(prefix.length),
          bytes: await source.read(cid, e.path),
        })),
      );
      files.set(
        index,
        downloaded.map((f) => ({
          path: f.path,
          size: f.bytes.length,
          url: source.urlOf(cid, `${prefix}${f.path}`),
        })),
      );
      return {
        hash: outputHashOf(downloaded),
        files: downloaded.length,
        bytes: downloaded.reduce((sum, f) => sum + f.bytes.length, 0),
      };
    },
    (index) => index >= first && index < end,
  );
  const rootMatches = results.root === root && verification.computedRoot === root;
  const tasks: TaskCheck[] = [];
  for (let index = first; index < end; index++) {
    const task = { index, groupId: group.groupId };
    // The first claim of a task, as a lookup by index finds it (a bundle with two claims for
    // one index fails its root anyway).
    const checked = verification.tasks.find((t) => t.index === index);
    if (checked === undefined) {
      tasks.push({
        ...task,
        files: [],
        status: "unknown",
        verdict: "not-in-bundle",
        claimedHash: "",
        outcome: {},
      });
      continue;
    }
    const { status, claimedHash, outcome, actualHash } = checked;
    const verdict = checked.verdict as JobTaskVerdict;
    const base = { ...task, status, claimedHash, outcome, files: files.get(index) ?? [] };
    if (verdict === "not-in-root") {
      tasks.push({ ...base, verdict });
      continue;
    }
    const shown = files.get(index);
    const attention = attentionReason({
      status,
      outcome,
      ...(shown !== undefined
        ? { output: { files: shown.length, bytes: shown.reduce((sum, f) => sum + f.size, 0) } }
        : {}),
    });
    tasks.push({
      ...base,
      ...(attention !== undefined ? { attention } : {}),
      ...(actualHash !== undefined ? { actualHash } : {}),
      verdict,
    });
  }
  return { groupId: group.groupId, root, resultsCid: cid, rootMatches, tasks };
}

/** Checks every agreed group of a finalized job against its on-chain winning root. */
export async function verifyJobResults(source: BundleSource, job: JobDetails): Promise<JobCheck> {
  const groups: GroupCheck[] = [];
  const skippedGroups: number[] = [];
  for (const group of job.groups) {
    if (group.outcome !== "Agreed" || group.winningRoot === null) {
      skippedGroups.push(group.groupId);
      continue;
    }
    groups.push(await checkGroup(source, group));
  }
  const ok =
    groups.length > 0 &&
    groups.every((g) => g.rootMatches && g.tasks.every((t) => t.verdict === "verified"));
  return { ok, groups, skippedGroups };
}
