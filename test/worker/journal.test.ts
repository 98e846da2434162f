import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  Journal,
  JournalError,
  reduceJournal,
  replayJournal,
} from "../../worker/src/journal/index.ts";

describe("Journal", () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-journal-"));
    file = path.join(dir, "journal.jsonl");
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replays what was appended, in order, after a reopen", async () => {
    const { journal, entries } = await Journal.open(file);
    expect(entries).to.deep.equal([]);
    await journal.append({ type: "bid-intent", jobId: "7", price: "5", capacity: 1 });
    await journal.append({ type: "bid-placed", jobId: "7", tx: "0xaa" });
    await journal.close();
    const reopened = await Journal.open(file);
    expect(reopened.entries.map((e) => e.type)).to.deep.equal(["bid-intent", "bid-placed"]);
    expect(reopened.entries[0]).to.include({ jobId: "7", price: "5", capacity: 1 });
    await reopened.journal.close();
  });

  it("drops a torn last line and cuts it off the file, keeping every complete entry", async () => {
    const { journal } = await Journal.open(file);
    await journal.append({ type: "bid-intent", jobId: "1", price: "5", capacity: 1 });
    await journal.close();
    await appendFile(file, '{"type":"bid-placed","jobId":"1"'); // crash mid-write
    const { journal: again, entries } = await Journal.open(file);
    expect(entries.map((e) => e.type)).to.deep.equal(["bid-intent"]);
    await again.append({ type: "closed", jobId: "1", reason: "test" });
    await again.close();
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).to.deep.equal([
      "bid-intent",
      "closed",
    ]);
  });

  it("treats a complete JSON line without its newline as torn (its fsync never returned)", async () => {
    await writeFile(
      file,
      '{"type":"started","address":"0x1","chainId":1,"time":"t"}\n{"type":"closed","jobId":"1","reason":"x","time":"t"}',
    );
    expect((await replayJournal(file)).map((e) => e.type)).to.deep.equal(["started"]);
  });

  it("refuses a journal damaged before its last line", async () => {
    await writeFile(
      file,
      '{"type":"started","address":"0x1","chainId":1}\ngarbage\n{"type":"closed","jobId":"1","reason":"x"}\n',
    );
    const error = await replayJournal(file).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(JournalError);
    expect((error as JournalError).code).to.equal("journal-corrupt");
    expect((error as JournalError).message).to.contain("line 2");
  });

  it("keeps concurrent appends whole and ordered by call", async () => {
    const { journal } = await Journal.open(file);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        journal.append({ type: "closed", jobId: String(i), reason: "x" }),
      ),
    );
    await journal.close();
    const entries = await replayJournal(file);
    expect(entries.map((e) => (e as { jobId: string }).jobId)).to.deep.equal(
      Array.from({ length: 50 }, (_, i) => String(i)),
    );
  });
});

describe("reduceJournal", () => {
  it("folds a job's entries into its phase, secrets and transactions", () => {
    const time = "2026-01-01T00:00:00.000Z";
    const jobs = reduceJournal([
      { time, type: "bid-intent", jobId: "3", price: "10", capacity: 2 },
      { time, type: "tx-signed", jobId: "3", action: "placeBid", hash: "0x01" },
      { time, type: "bid-placed", jobId: "3" },
      {
        time,
        type: "awarded",
        jobId: "3",
        memberships: [{ groupId: 0, taskStart: 0, taskCount: 2 }],
        commitDeadline: "100",
        revealDeadline: "200",
      },
      {
        time,
        type: "results",
        jobId: "3",
        salt: "0x5a",
        roots: [{ groupId: 0, root: "0xr" }],
        resultsCid: "bafy",
        tasks: [],
      },
      { time, type: "tx-signed", jobId: "3", action: "commit", hash: "0x02" },
      { time, type: "committed", jobId: "3" },
      { time, type: "bid-intent", jobId: "4", price: "10", capacity: 1 },
    ]);
    expect(jobs.get("3")).to.deep.include({
      phase: "committed",
      price: "10",
      capacity: 2,
      salt: "0x5a",
      resultsCid: "bafy",
      commitDeadline: "100",
    });
    expect(jobs.get("3")?.txs).to.deep.equal({ placeBid: ["0x01"], commit: ["0x02"] });
    expect(jobs.get("4")?.phase).to.equal("bidding");
  });

  it("never moves a job's phase backwards", () => {
    const time = "t";
    const jobs = reduceJournal([
      { time, type: "bid-intent", jobId: "1", price: "1", capacity: 1 },
      { time, type: "revealed", jobId: "1" },
      { time, type: "bid-placed", jobId: "1" },
    ]);
    expect(jobs.get("1")?.phase).to.equal("revealed");
  });
});
