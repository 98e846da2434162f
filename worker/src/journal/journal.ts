// The worker's memory: an append-only JSON-lines file, each entry fsynced before the chain
// action it announces. Replaying it after a crash tells the worker what it had decided (bids,
// salts, roots) and what it had sent; the chain tells it what actually happened. A crash can
// tear the last line mid-write: replay drops such a tail (and truncates it away) instead of
// refusing to start, since nothing was acted on after an entry that was never complete.
import { type FileHandle, mkdir, open, readFile, truncate } from "node:fs/promises";
import path from "node:path";
import { errorClass } from "../../../sdk/errors.ts";

/** What the worker journals. Amounts and ids are decimal strings (JSON has no bigint). */
export type JournalEvent =
  /** `outputBound`: how this run holds task outputs to their caps (OutputBound.summary). */
  | { type: "started"; address: string; chainId: number; outputBound?: string }
  /** `diskBytes`: the disk budget the bid reserves while the job is active. */
  | { type: "bid-intent"; jobId: string; price: string; capacity: number; diskBytes?: number }
  | { type: "tx-signed"; jobId?: string; action: string; hash: string }
  | { type: "bid-placed"; jobId: string; tx?: string }
  | {
      type: "awarded";
      jobId: string;
      memberships: MembershipRecord[];
      commitDeadline: string;
      revealDeadline: string;
    }
  | {
      type: "results";
      jobId: string;
      salt: string;
      roots: GroupRoot[];
      resultsCid: string;
      tasks: TaskSummary[];
      /** The image the tasks ran in, and whether this worker pulled or loaded it for them. */
      image?: { id: string; brought: boolean };
      /** What the job had this worker fetch from the content store: manifest, inputs, image. */
      content?: string[];
    }
  | { type: "committed"; jobId: string; tx?: string }
  | { type: "revealed"; jobId: string; tx?: string }
  | { type: "finalized"; jobId: string; tx?: string }
  | { type: "claimed"; jobId: string; payment: string; fee: string; tx?: string }
  | { type: "closed"; jobId: string; reason: string }
  /** The job's data directory is gone (jobs/cleanup.ts): its disk reservation is released. */
  | { type: "cleaned"; jobId: string };

export type JournalEntry = JournalEvent & { time: string };

export interface MembershipRecord {
  groupId: number;
  taskStart: number;
  taskCount: number;
}

export interface GroupRoot {
  groupId: number;
  /** The root committed (the wrong one in the test-only fault mode). */
  root: string;
}

export interface TaskSummary {
  index: number;
  status: string;
  outputHash: string;
}

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"journal", JournalError> {}
}

/** `journal-corrupt`: a line that is not an entry (other than a torn last line, repaired). */
// biome-ignore format: a domain's codes stay on one line
export class JournalError extends errorClass("journal", ["journal-closed", "journal-corrupt", "journal-unreadable"]) {}

export class Journal {
  readonly file: string;
  readonly #handle: FileHandle;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastWrite = 0;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  /** Opens (creating) the journal and returns it with the entries already in it. */
  static async open(file: string): Promise<{ journal: Journal; entries: JournalEntry[] }> {
    await mkdir(path.dirname(file), { recursive: true });
    const entries = await replayJournal(file, { repair: true });
    const handle = await open(file, "a");
    return { journal: new Journal(file, handle), entries };
  }

  /** Appends one entry and waits until it is on disk (fsync). */
  append(event: JournalEvent): Promise<JournalEntry> {
    const entry = { time: new Date().toISOString(), ...event } as JournalEntry;
    const write = async () => {
      if (this.#closed) throw new JournalError("journal-closed", "the journal is closed");
      await this.#handle.appendFile(`${JSON.stringify(entry)}\n`, "utf8");
      await this.#handle.sync();
      this.#lastWrite = Date.now();
      return entry;
    };
    const run = this.#queue.then(write, write);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Milliseconds since the last durable write (the "journal lag" metric). */
  get msSinceLastWrite(): number {
    return this.#lastWrite === 0 ? 0 : Date.now() - this.#lastWrite;
  }

  async close(): Promise<void> {
    await this.#queue;
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

/**
 * Reads every complete entry of a journal. A torn last line (no newline, or not JSON) is
 * dropped — and cut off the file when `repair` is set; a bad line in the middle means the file
 * was damaged some other way and is refused.
 */
export async function replayJournal(
  file: string,
  options: { repair?: boolean } = {},
): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new JournalError("journal-unreadable", `cannot read the journal ${file}`, {
      cause: error,
    });
  }
  const entries: JournalEntry[] = [];
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const isLast = i === lines.length - 1;
    const complete = !isLast;
    if (line.trim() === "") {
      offset += line.length + 1;
      continue;
    }
    let entry: JournalEntry | undefined;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      entry = undefined;
    }
    const torn = entry === undefined || !complete;
    if (torn) {
      const restIsTail = lines.slice(i + 1).every((rest) => rest.trim() === "");
      if (!restIsTail) {
        throw new JournalError("journal-corrupt", `${file}: line ${i + 1} is not a journal entry`, {
          details: { line: i + 1 },
        });
      }
      if (options.repair) await truncate(file, Buffer.byteLength(text.slice(0, offset)));
      break;
    }
    entries.push(entry as JournalEntry);
    offset += line.length + 1;
  }
  return entries;
}
