// What the worker removes after jobs (worker/src/jobs/cleanup.ts; the job folder itself is
// tested end to end in worker-flow.test.ts). The image cache on the real Docker engine:
// images the worker brought for jobs stay up to limits.imageCacheMiB, least recently used out
// first; an image an active job ran in, one a container still uses, and one that was on the
// machine before the worker brought it are never removed. The content store, a real embedded
// IPFS node: what ended jobs fetched goes, their results after the retention, never a block
// an active job or a retained bundle shares, and nothing of a local (shared) store.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { buildBusyboxImage, removeImage, type TestImage } from "../../devnet/images.ts";
import {
  type ContentStore,
  type IpfsContentStore,
  openContentStore,
  openIpfsContentStore,
} from "../../sdk/content/index.ts";
import { silentLogger } from "../../sdk/logger.ts";
import type { WorkerContext } from "../../worker/src/context.ts";
import { collectContent, trimImageCache } from "../../worker/src/jobs/cleanup.ts";
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

describe("worker content store clean-up", () => {
  const HOUR = 3_600_000;
  const ended = "2026-12-01T00:00:00.000Z";
  const now = Date.parse(ended) + 10 * HOUR;
  let work: string;
  let store: IpfsContentStore;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "conun-cleanup-content-"));
    store = await openIpfsContentStore({ dir: join(work, "ipfs") });
  });

  afterEach(async () => {
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  function context(kind: "ipfs" | "local", on: ContentStore, jobs: JobState[]): WorkerContext {
    return {
      config: { contentStore: { kind }, limits: { keepResultsHours: 24 } },
      jobs: new Map(jobs.map((state) => [state.jobId, state])),
      store: on,
      log: silentLogger,
    } as unknown as WorkerContext;
  }

  const text = (value: string) => store.addBytes(new TextEncoder().encode(value));

  it("removes what ended jobs fetched at once and their results after the retention, never what others share", async () => {
    const [input, sharedInput, freshResults, oldResults, activeResults] = await Promise.all([
      text("an input only job 1 used"),
      text("an input jobs 1 and 3 both use"),
      text("results of job 1, ended 10 h ago"),
      text("results of job 2, ended 30 h ago"),
      text("results of active job 3"),
    ]);
    const ctx = context("ipfs", store, [
      {
        jobId: "1",
        phase: "claimed",
        txs: {},
        cleaned: true,
        endedAt: ended,
        content: [input, sharedInput],
        resultsCid: freshResults,
      },
      {
        jobId: "2",
        phase: "closed",
        txs: {},
        cleaned: true,
        endedAt: new Date(Date.parse(ended) - 20 * HOUR).toISOString(),
        resultsCid: oldResults,
      },
      {
        jobId: "3",
        phase: "committed",
        txs: {},
        content: [sharedInput],
        resultsCid: activeResults,
      },
    ]);

    const collected = await collectContent(ctx, now);
    expect(collected?.blocks).to.equal(2);
    expect(await store.has(input)).to.equal(false);
    expect(await store.has(oldResults)).to.equal(false);
    for (const kept of [sharedInput, freshResults, activeResults]) {
      expect(await store.has(kept)).to.equal(true);
    }
    // Past job 1's retention its results go too.
    expect((await collectContent(ctx, now + 24 * HOUR))?.blocks).to.equal(1);
    expect(await store.has(freshResults)).to.equal(false);
    expect(await store.has(sharedInput)).to.equal(true);
  });

  it("keeps everything of a job whose folder is not cleaned yet, and never collects a local store", async () => {
    const input = await text("fetched by a job that ended but is not cleaned yet");
    const job: JobState = {
      jobId: "1",
      phase: "claimed",
      txs: {},
      endedAt: ended,
      content: [input],
    };
    expect(await collectContent(context("ipfs", store, [job]), now)).to.equal(undefined);
    expect(await store.has(input)).to.equal(true);

    const local = await openContentStore({ kind: "local", dir: join(work, "local") });
    try {
      const shared = await local.addBytes(new TextEncoder().encode("the demo's shared store"));
      const cleaned = { ...job, cleaned: true, content: [shared] };
      expect(await collectContent(context("local", local, [cleaned]), now)).to.equal(undefined);
      expect(await local.has(shared)).to.equal(true);
    } finally {
      await local.close();
    }
  });
});
