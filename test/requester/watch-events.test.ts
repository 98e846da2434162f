// watchJobEvents: the requester library's watch as an async iterator, on a real chain.
import { expect } from "chai";
import { cancelJob } from "../../requester/manage.ts";
import { postJob } from "../../requester/post.ts";
import { type JobEvent, watchJobEvents } from "../../requester/watch.ts";
import {
  expectConunError,
  freshRequesterFixture,
  type RequesterFixture,
  sourceManifest,
} from "./fixtures.ts";

describe("watchJobEvents", () => {
  let f: RequesterFixture;

  beforeEach(async () => {
    f = await freshRequesterFixture();
  });
  afterEach(() => f.cleanup());

  const post = async () =>
    (await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir })).jobId;

  it("yields the job's events in order and ends when the job does", async () => {
    const jobId = await post();
    await cancelJob(f.ctx, jobId);
    const seen: JobEvent[] = [];
    for await (const event of watchJobEvents(f.ctx, jobId, { pollMs: 20 })) seen.push(event);
    expect(seen.map((e) => e.name)).to.deep.equal(["JobPosted", "JobCancelled"]);
    expect(seen[0]?.text).to.equal("posted: 2 tasks × k=3");
    expect(seen.at(-1)?.progress.status).to.equal("Cancelled");
    expect(seen.at(-1)?.progress.refund).to.equal((await f.p.market.getJob(jobId)).maxPrice * 6n);
  });

  it("stops watching when the loop is left early", async () => {
    const jobId = await post();
    const iterator = watchJobEvents(f.ctx, jobId, { pollMs: 20, passive: true });
    const first = await iterator.next();
    expect(first.done).to.equal(false);
    // Leaving the loop (what `break` does) returns once the watch has stopped.
    const last = await iterator.return(undefined);
    expect(last.done).to.equal(true);
    expect((await iterator.next()).done).to.equal(true);
  });

  it("throws the watch's failure from the loop: an open job past timeoutMs", async () => {
    const jobId = await post();
    const names: string[] = [];
    const error = await expectConunError(
      (async () => {
        for await (const event of watchJobEvents(f.ctx, jobId, {
          pollMs: 20,
          timeoutMs: 200,
          passive: true,
        })) {
          names.push(event.name);
        }
      })(),
      "wrong-status",
    );
    expect(names).to.deep.equal(["JobPosted"]);
    expect(error.message).to.contain(`job ${jobId} is still Open`);
  });
});
