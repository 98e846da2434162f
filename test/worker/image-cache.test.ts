// The worker's image cache (worker/src/jobs/cleanup.ts trimImageCache) on the real Docker
// engine: images the worker brought for jobs stay up to limits.imageCacheMiB, least recently
// used out first; an image an active job ran in, one a container still uses, and one that was
// on the machine before the worker brought it are never removed.
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { buildBusyboxImage, removeImage, type TestImage } from "../../devnet/images.ts";
import { silentLogger } from "../../sdk/logger.ts";
import type { WorkerContext } from "../../worker/src/context.ts";
import { trimImageCache } from "../../worker/src/jobs/cleanup.ts";
import type { JobState } from "../../worker/src/journal/index.ts";
import { docker } from "./support/execution.ts";

const MIB = 1024 * 1024;

async function present(id: string): Promise<boolean> {
  return docker
    .getImage(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

describe("worker image cache", function () {
  this.timeout(120_000);
  const built: TestImage[] = [];

  /** A distinct image of about 4 MiB (busybox and 3 MiB of its own). */
  async function image(): Promise<TestImage & { bytes: number }> {
    const tag = randomUUID();
    const made = await buildBusyboxImage(`conun-test/cache-${tag}:1`, {
      "/padding": `${tag}\n`.repeat((3 * MIB) / 37),
    });
    built.push(made);
    return { ...made, bytes: (await docker.getImage(made.id).inspect()).Size };
  }

  after(async () => {
    for (const made of built) await removeImage(made.id).catch(() => {});
  });

  function job(
    jobId: string,
    phase: JobState["phase"],
    id: string,
    brought: boolean,
    usedAt: string,
  ): [string, JobState] {
    return [
      jobId,
      { jobId, phase, txs: {}, image: { id, brought }, imageUsedAt: usedAt, cleaned: true },
    ];
  }

  function context(imageCacheMiB: number, jobs: [string, JobState][]): WorkerContext {
    return {
      config: { limits: { imageCacheMiB } },
      jobs: new Map(jobs),
      docker,
      log: silentLogger,
    } as unknown as WorkerContext;
  }

  it("keeps the most recently used brought images that fit and the held ones, and removes the rest", async () => {
    const [oldest, held, newest, preexisting] = [
      await image(),
      await image(),
      await image(),
      await image(),
    ];
    // Room for the newest only; the held one stays whatever its size.
    const cacheMiB = Math.ceil(newest.bytes / MIB);
    expect(newest.bytes + oldest.bytes, "two images must not fit").to.be.greaterThan(
      cacheMiB * MIB,
    );
    const ctx = context(cacheMiB, [
      job("1", "claimed", oldest.id, true, "2026-12-01T00:00:00.000Z"),
      job("2", "committed", held.id, true, "2026-12-01T01:00:00.000Z"),
      job("3", "closed", newest.id, true, "2026-12-01T02:00:00.000Z"),
      job("4", "claimed", preexisting.id, false, "2026-11-01T00:00:00.000Z"),
    ]);

    expect(await trimImageCache(ctx)).to.deep.equal([oldest.id]);
    expect(await present(oldest.id)).to.equal(false);
    for (const kept of [held, newest, preexisting]) expect(await present(kept.id)).to.equal(true);
    // Nothing more to do: a second trim removes nothing.
    expect(await trimImageCache(ctx)).to.deep.equal([]);
  });

  it("keeps an image a container still uses, and removes it once the container is gone", async () => {
    const used = await image();
    const ctx = context(0, [job("1", "claimed", used.id, true, "2026-12-01T00:00:00.000Z")]);
    const container = await docker.createContainer({ Image: used.id, Cmd: ["true"] });
    try {
      expect(await trimImageCache(ctx)).to.deep.equal([]);
      expect(await present(used.id)).to.equal(true);
    } finally {
      await container.remove({ force: true });
    }
    expect(await trimImageCache(ctx)).to.deep.equal([used.id]);
    expect(await present(used.id)).to.equal(false);
  });
});
