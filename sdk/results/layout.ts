// Where a replica group's bundle sits inside the directory a provider reveals. The contract
// takes one results CID per provider per job, however many groups of that job it holds, so the
// revealed directory is either the group's bundle itself (one group) or a folder of
// `group-<groupId>/` bundles (several). Writers and readers, on disk (fs.ts) and through a
// gateway (job.ts), all go through this module so the layouts cannot drift apart again.
import type { ResultsFile } from "./bundle.ts";
import { ResultsError } from "./errors.ts";

/** Name of the sub-bundle of group `groupId` when a provider holds several groups of a job. */
export function groupBundleName(groupId: bigint | number | string): string {
  return `group-${BigInt(groupId).toString()}`;
}

/** Where a group's bundle was found: `""` (the revealed directory) or `group-<id>/`. */
export interface LocatedBundle {
  prefix: string;
  results: ResultsFile;
}

/**
 * Finds group `groupId`'s bundle in a revealed directory, given a reader of the `results.json`
 * under a prefix (`""` or `group-<id>/`; undefined when there is none): the directory itself
 * when its `results.json` is that group's, else its `group-<groupId>/` sub-bundle. Anything else
 * (no bundle for the group, a root bundle of another group, a sub-bundle whose `results.json`
 * names another group) is a ResultsError with code `bundle-group-missing`, naming what was
 * found. A malformed `results.json` is whatever the reader throws (`bundle-invalid`).
 */
export async function locateGroupBundle(
  groupId: bigint | number | string,
  readResults: (prefix: string) => Promise<ResultsFile | undefined>,
): Promise<LocatedBundle> {
  const wanted = BigInt(groupId).toString();
  const root = await readResults("");
  if (root?.groupId === wanted) return { prefix: "", results: root };
  const name = groupBundleName(wanted);
  const sub = await readResults(`${name}/`);
  if (sub !== undefined) {
    if (sub.groupId === wanted) return { prefix: `${name}/`, results: sub };
    throw new ResultsError(
      "bundle-group-missing",
      `${name}/results.json is for group ${sub.groupId}, not group ${wanted}`,
      { details: { groupId: wanted, found: sub.groupId } },
    );
  }
  const rootGroup = root?.groupId;
  throw new ResultsError(
    "bundle-group-missing",
    rootGroup !== undefined
      ? `the revealed bundle is group ${rootGroup}'s, and it has no ${name}/ for group ${wanted}`
      : `the revealed directory has neither a results.json for group ${wanted} nor a ${name}/ bundle`,
    { details: { groupId: wanted, ...(rootGroup !== undefined ? { found: rootGroup } : {}) } },
  );
}
