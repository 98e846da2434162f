// Where a replica group's bundle sits inside the directory a provider reveals. The contract
// takes one results CID per provider per job, however many groups of that job it holds, so the
// revealed directory is either the group's bundle itself (one group) or a folder of
// `group-<groupId>/` bundles (several). Writers and readers both go through this module so the
// two layouts cannot drift apart again.
import { lstat } from "node:fs/promises";
import path from "node:path";
import { readBundle } from "./bundle.ts";
import { ResultsError } from "./errors.ts";

/** Name of the sub-bundle of group `groupId` when a provider holds several groups of a job. */
export function groupBundleName(groupId: bigint | number | string): string {
  return `group-${BigInt(groupId).toString()}`;
}

/**
 * Where to write group `groupId`'s bundle inside the directory that will be revealed, given how
 * many groups of the job the provider holds: the directory itself for one group (the bundle
 * is then the revealed CID, as in the common case), `group-<groupId>/` for several.
 */
export function groupBundlePath(
  revealedDir: string,
  groupId: bigint | number | string,
  groupsHeld: number,
): string {
  if (!Number.isInteger(groupsHeld) || groupsHeld < 1) {
    throw new ResultsError("invalid-argument", `groupsHeld must be ≥ 1, got ${groupsHeld}`);
  }
  return groupsHeld === 1 ? revealedDir : path.join(revealedDir, groupBundleName(groupId));
}

/**
 * Finds group `groupId`'s bundle in an exported revealed directory: the directory itself when
 * its `results.json` is that group's, else its `group-<groupId>/` sub-bundle. Anything else
 * (no bundle for the group, a root bundle of another group, a sub-bundle whose `results.json`
 * names another group) is a ResultsError with code `bundle-group-missing`, naming what was
 * found. A malformed `results.json` is `bundle-invalid`, as from readBundle.
 */
export async function findGroupBundle(
  revealedDir: string,
  groupId: bigint | number | string,
): Promise<string> {
  const wanted = BigInt(groupId).toString();
  let rootGroup: string | undefined;
  if (await isFile(path.join(revealedDir, "results.json"))) {
    rootGroup = (await readBundle(revealedDir)).groupId;
    if (rootGroup === wanted) return revealedDir;
  }
  const sub = path.join(revealedDir, groupBundleName(wanted));
  if (await isFile(path.join(sub, "results.json"))) {
    const subGroup = (await readBundle(sub)).groupId;
    if (subGroup === wanted) return sub;
    throw new ResultsError(
      "bundle-group-missing",
      `${groupBundleName(wanted)}/results.json is for group ${subGroup}, not group ${wanted}`,
      { details: { groupId: wanted, found: subGroup } },
    );
  }
  throw new ResultsError(
    "bundle-group-missing",
    rootGroup !== undefined
      ? `the revealed bundle is group ${rootGroup}'s, and it has no ${groupBundleName(wanted)}/ for group ${wanted}`
      : `the revealed directory has neither a results.json for group ${wanted} nor a ${groupBundleName(wanted)}/ bundle`,
    { details: { groupId: wanted, ...(rootGroup !== undefined ? { found: rootGroup } : {}) } },
  );
}

/** A regular file, not followed through a link (an exported bundle never holds links). */
async function isFile(file: string): Promise<boolean> {
  return lstat(file).then(
    (stat) => stat.isFile(),
    () => false,
  );
}
