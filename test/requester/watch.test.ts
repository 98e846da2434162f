import { expect } from "chai";
import { commitAll, ONE, registerProviders, revealAll } from "../../devnet/protocol.ts";
import { postJob } from "../../requester/post.ts";
import { createProgressPrinter } from "../../requester/render.ts";
import { paidProviders, type WatchEvent, watchJob } from "../../requester/watch.ts";
import {
  freshRequesterFixture,
  postAndAward,
  type RequesterFixture,
  sourceManifest,
} from "./fixtures.ts";

describe("watchJob", () => {
  let f: RequesterFixture;

  beforeEach(async () => {
    f = await freshRequesterFixture();
  });
  afterEach(() => f.cleanup());

  it("follows a job from bids to finalization, naming the slashed cheater", async () => {
    const providers = f.p.providers.slice(0, 3);
    await registerProviders(f.p, providers);
    const { jobId } = await postAndAward(f, providers);
    const [a, b, cheat] = providers;
    if (a === undefined || b === undefined || cheat === undefined) throw new Error("providers");
    await commitAll(f.connection, f.p, jobId, a);
    await commitAll(f.connection, f.p, jobId, b);
    await commitAll(f.connection, f.p, jobId, cheat, 1);
    await revealAll(f.connection, f.p, jobId, a);
    await revealAll(f.connection, f.p, jobId, b);
    await revealAll(f.connection, f.p, jobId, cheat, 1);
    await f.p.market.finalize(jobId);

    const events: WatchEvent[] = [];
    const final = await watchJob(f.connection.ethers.provider, f.deployment.market, jobId, {
      onEvent: (event) => events.push(event),
      pollMs: 20,
      timeoutMs: 10_000,
    });
    expect(final.status).to.equal("Finalized");
    expect(final.bids.size).to.equal(3);
    expect(final.groups).to.have.length(1);
    expect(final.groups[0]?.outcome).to.equal("Agreed");
    expect(final.slashes.map((s) => [s.provider, s.reason])).to.deep.equal([
      [cheat.address, "WrongResult"],
    ]);
    expect(new Set(paidProviders(final))).to.deep.equal(new Set([a.address, b.address]));
    const names = events.map((e) => e.name);
    expect(names[0]).to.equal("JobPosted");
    expect(names.filter((n) => n === "ResultRevealed")).to.have.length(3);
    expect(names.at(-1)).to.equal("JobFinalized");
  });

  it("closes bidding itself when driving, and stops at an unfilled job", async () => {
    const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    const { biddingDeadline } = await f.p.market.getJob(jobId);
    await f.connection.networkHelpers.time.increaseTo(biddingDeadline + 1n);
    const final = await watchJob(f.connection.ethers.provider, f.deployment.market, jobId, {
      drive: f.requester,
      pollMs: 20,
      timeoutMs: 10_000,
    });
    expect(final.status).to.equal("Unfilled");
    expect(final.refund).to.equal(await postJobEscrow());
    expect(await f.p.market.claimableBalance(f.requester.address)).to.equal(final.refund);
  });

  it("prints plain lines when the output is not a terminal", async () => {
    const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    const lines: string[] = [];
    const stream = { write: (text: string) => lines.push(text), isTTY: false };
    const printer = createProgressPrinter(stream as unknown as NodeJS.WriteStream);
    await f.p.market.connect(f.requester).cancelJob(jobId);
    await watchJob(f.connection.ethers.provider, f.deployment.market, jobId, {
      onEvent: printer.onEvent,
      pollMs: 20,
      timeoutMs: 10_000,
    });
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/job 1 posted: 2 tasks × k=3\n$/);
    expect(lines[1]).to.match(/job 1 cancelled/);
    expect(lines.join("")).to.not.contain("\x1b");
  });

  async function postJobEscrow(): Promise<bigint> {
    return 2n * 3n * ((15n * ONE) / 10n);
  }
});

describe("createProgressPrinter", () => {
  it("redraws one progress bar in place on a terminal", () => {
    const chunks: string[] = [];
    const stream = { write: (text: string) => chunks.push(text), isTTY: true };
    const printer = createProgressPrinter(stream as unknown as NodeJS.WriteStream);
    const progress = {
      jobId: 7n,
      status: "Awarded",
      replication: 3,
      groups: [{ committed: new Set(["a", "b", "c"]), revealed: new Map() }],
    } as unknown as Parameters<typeof printer.onEvent>[1];
    printer.onEvent(
      { name: "ResultCommitted", blockNumber: 1, timestamp: 0, text: "commit 3/3" },
      progress,
    );
    printer.onEvent(
      { name: "ResultCommitted", blockNumber: 2, timestamp: 0, text: "again" },
      progress,
    );
    printer.done();
    const text = chunks.join("");
    expect(text).to.contain("commit 3/3\n");
    expect(text).to.match(/\[#{17}-{13}\] job 7 Awarded/);
    expect(text.split("\r\u001b[2K")).to.have.length(3);
  });
});
