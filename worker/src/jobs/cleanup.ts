// After a job has ended for this worker (claimed, or closed for any reason), its data goes:
// the job's directory (inputs, task outputs, results bundles) is removed with removeOutput,
// which a task's 10,000-level or unreadable tree cannot defeat, then `cleaned` is journaled,
// which releases the bid's disk reservation. A restart finds every ended job without
// `cleaned` and removes what is left (removal is idempotent). Then the image cache is
// trimmed: images this worker pulled or loaded for jobs stay for later jobs up to
// `limits.imageCacheMiB`, least recently used first out, never one an active job ran in or a
// container still uses, never one that was on the machine before the worker brought it.
// Last, an `ipfs` store's blocks are collected: what ended jobs fetched (manifest, inputs,
// image archive) at once, their results bundles `limits.keepResultsHours` after the job
// ended (the requester fetches them after settlement), never a block that an active job's
// or a retained bundle's content shares. A `local` store is taken as shared (the demo's
// workers and requester use one directory) and is never collected.
import type Docker from "dockerode";
import type { Collected, IpfsContentStore } from "../../../sdk/content/index.ts";
import { describeError } from "../../../sdk/errors.ts";
import type { WorkerContext } from "../context.ts";
import { removeOutput } from "../execution/index.ts";
import { isActive, type JobState, needsCleanUp } from "../journal/index.ts";
import { jobDir } from "./execute.ts";

const MIB = 1024 * 1024;

/** Removes an ended job's data and journals it; then trims the image cache. */
export async function cleanUpJob(ctx: WorkerContext, state: JobState): Promise<void> {
  if (!needsCleanUp(state)) return;
  const log = ctx.log.child("cleanup", { jobId: state.jobId });
  const dir = jobDir(ctx, state.jobId);
  await removeOutput(dir);
  await ctx.record({ type: "cleaned", jobId: state.jobId });
  log.info("job data removed", { dir });
  await trimImageCache(ctx);
  await collectContent(ctx);
}

/**
 * Deletes the `ipfs` store's blocks that ended jobs no longer need (see the top of this
 * file); `now` decides which results bundles are past their retention. Does nothing for a
 * `local` store. Failures are logged: the blocks are collected on a later pass.
 */
export async function collectContent(
  ctx: WorkerContext,
  now: number = Date.now(),
): Promise<Collected | undefined> {
  const store = ctx.store as Partial<IpfsContentStore>;
  if (ctx.config.contentStore.kind !== "ipfs" || store.collect === undefined) return undefined;
  const retentionMs = ctx.config.limits.keepResultsHours * 3_600_000;
  const roots: string[] = [];
  const keep: string[] = [];
  for (const state of ctx.jobs.values()) {
    const fetched = state.content ?? [];
    const results = state.resultsCid === undefined ? [] : [state.resultsCid];
    if (isActive(state) || state.cleaned !== true) {
      keep.push(...fetched, ...results);
      continue;
    }
    roots.push(...fetched);
    const ended = Date.parse(state.endedAt ?? "");
    if (Number.isFinite(ended) && now - ended >= retentionMs) roots.push(...results);
    else keep.push(...results);
  }
  if (roots.length === 0) return undefined;
  try {
    const collected = await store.collect(roots, keep);
    if (collected.blocks > 0) {
      ctx.log.child("cleanup").info("content store blocks removed", {
        blocks: collected.blocks,
        mib: Math.round((collected.bytes / MIB) * 10) / 10,
      });
    }
    return collected;
  } catch (error) {
    ctx.log
      .child("cleanup")
      .warn("could not collect content store blocks", { reason: describeError(error) });
    return undefined;
  }
}

/**
 * Removes the least recently used images this worker brought until the rest fit
 * `limits.imageCacheMiB`. Returns the IDs removed. Failures are logged, never thrown: an
 * image that cannot go now is tried again after the next job.
 */
export async function trimImageCache(ctx: WorkerContext): Promise<string[]> {
  const log = ctx.log.child("cleanup");
  const { brought, held } = imagesOf(ctx.jobs.values());
  const sized: { id: string; lastUsed: string; bytes: number }[] = [];
  for (const [id, lastUsed] of brought) {
    try {
      const bytes = await imageBytes(ctx.docker, id);
      if (bytes !== undefined) sized.push({ id, lastUsed, bytes });
    } catch (error) {
      log.warn("could not size a cached image", { image: id, reason: describeError(error) });
      return [];
    }
  }
  // Most recently used first: they are kept while they fit.
  sized.sort((a, b) => b.lastUsed.localeCompare(a.lastUsed));
  const cacheBytes = ctx.config.limits.imageCacheMiB * MIB;
  let kept = 0;
  const removed: string[] = [];
  for (const image of sized) {
    if (held.has(image.id) || kept + image.bytes <= cacheBytes) {
      kept += image.bytes;
      continue;
    }
    try {
      const users = await ctx.docker.listContainers({
        all: true,
        filters: { ancestor: [image.id] },
      });
      if (users.length > 0) {
        kept += image.bytes;
        continue;
      }
      await ctx.docker.getImage(image.id).remove({ force: true });
      removed.push(image.id);
      log.info("image removed from the cache", {
        image: image.id,
        mib: Math.ceil(image.bytes / MIB),
        cacheMiB: ctx.config.limits.imageCacheMiB,
      });
    } catch (error) {
      log.warn("could not remove a cached image; will try after the next job", {
        image: image.id,
        reason: describeError(error),
      });
    }
  }
  return removed;
}

/**
 * The images the journal says this worker brought, with when each was last used by any job,
 * and the images active jobs ran in.
 */
function imagesOf(jobs: Iterable<JobState>): {
  brought: Map<string, string>;
  held: Set<string>;
} {
  const lastUse = new Map<string, string>();
  const everBrought = new Set<string>();
  const held = new Set<string>();
  for (const state of jobs) {
    if (state.image === undefined) continue;
    const { id } = state.image;
    if (state.image.brought) everBrought.add(id);
    if (isActive(state)) held.add(id);
    const used = state.imageUsedAt ?? "";
    if (used > (lastUse.get(id) ?? "")) lastUse.set(id, used);
  }
  const brought = new Map<string, string>();
  for (const id of everBrought) brought.set(id, lastUse.get(id) ?? "");
  return { brought, held };
}

/** The image's size on disk, or undefined when it is gone already. */
async function imageBytes(docker: Docker, id: string): Promise<number | undefined> {
  try {
    const info = await docker.getImage(id).inspect();
    return info.Size;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
