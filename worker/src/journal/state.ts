// Folds the journal into what the worker knows about each job. The phase only moves forward;
// the chain is still asked before each action (a journaled intent may or may not have reached
// it), the journal says which action comes next and with which secrets.
import type { GroupRoot, JournalEntry, MembershipRecord, TaskSummary } from "./journal.ts";

export type JobPhase =
  | "bidding" // bid intent journaled (maybe sent)
  | "bid-placed"
  | "awarded" // memberships known, tasks to run
  | "results" // roots and salt journaled, commit next
  | "committed"
  | "revealed"
  | "finalized"
  | "claimed"
  | "closed";

const ORDER: readonly JobPhase[] = [
  "bidding",
  "bid-placed",
  "awarded",
  "results",
  "committed",
  "revealed",
  "finalized",
  "claimed",
  "closed",
];

export interface JobState {
  jobId: string;
  phase: JobPhase;
  price?: string;
  capacity?: number;
  memberships?: MembershipRecord[];
  commitDeadline?: string;
  revealDeadline?: string;
  salt?: string;
  roots?: GroupRoot[];
  resultsCid?: string;
  tasks?: TaskSummary[];
  payment?: string;
  fee?: string;
  closedReason?: string;
  /** Disk budget reserved by the bid (bytes), held until the job's data is cleaned up. */
  diskBytes?: number;
  /** The image the tasks ran in; `brought` when this worker pulled or loaded it for them. */
  image?: { id: string; brought: boolean };
  /** When the image was last used for this job (the results entry's time). */
  imageUsedAt?: string;
  /** CIDs the job had this worker fetch (manifest, inputs, image archive). */
  content?: string[];
  /** When the job ended for this worker (the claimed or closed entry's time). */
  endedAt?: string;
  /** The job's data directory has been removed, after the job ended. */
  cleaned?: boolean;
  /** Transaction hashes signed for this job, by action. */
  txs: Record<string, string[]>;
}

function advance(state: JobState, phase: JobPhase): void {
  if (ORDER.indexOf(phase) > ORDER.indexOf(state.phase)) state.phase = phase;
}

type EventOf<T extends JournalEntry["type"]> = Extract<JournalEntry, { type: T }>;
/** Entry types that always name a job. */
type JobEntryType = {
  [T in JournalEntry["type"]]: EventOf<T> extends { jobId: string } ? T : never;
}[JournalEntry["type"]];

/**
 * How each journal entry changes what the worker knows: one fold per entry type, so a new
 * entry type fails to compile until it says what it does to a job (entries about the worker
 * rather than a job, like `started`, leave every job as it is).
 */
type Folds = {
  [T in JournalEntry["type"]]: (entry: EventOf<T>, job: (jobId: string) => JobState) => void;
};

/** A fold that records `fields` of the entry on its job and moves the job on to `phase`. */
function moveTo<T extends JobEntryType>(
  phase: JobPhase,
  fields: (entry: EventOf<T>) => Partial<JobState> = () => ({}),
): Folds[T] {
  return ((entry: EventOf<T>, job: (jobId: string) => JobState) => {
    const state = job((entry as { jobId: string }).jobId);
    Object.assign(state, fields(entry));
    advance(state, phase);
  }) as Folds[T];
}

const FOLDS: Folds = {
  started: () => {},
  "bid-intent": (entry, job) => {
    Object.assign(job(entry.jobId), {
      price: entry.price,
      capacity: entry.capacity,
      ...(entry.diskBytes !== undefined ? { diskBytes: entry.diskBytes } : {}),
    });
  },
  "tx-signed": (entry, job) => {
    if (entry.jobId === undefined) return;
    const state = job(entry.jobId);
    const list = state.txs[entry.action] ?? [];
    list.push(entry.hash);
    state.txs[entry.action] = list;
  },
  "bid-placed": moveTo("bid-placed"),
  awarded: moveTo<"awarded">("awarded", ({ memberships, commitDeadline, revealDeadline }) => ({
    memberships,
    commitDeadline,
    revealDeadline,
  })),
  results: moveTo<"results">(
    "results",
    ({ salt, roots, resultsCid, tasks, image, content, time }) => ({
      salt,
      roots,
      resultsCid,
      tasks,
      ...(image === undefined ? {} : { image, imageUsedAt: time }),
      ...(content === undefined ? {} : { content }),
    }),
  ),
  committed: moveTo("committed"),
  revealed: moveTo("revealed"),
  finalized: moveTo("finalized"),
  claimed: moveTo<"claimed">("claimed", ({ payment, fee, time }) => ({
    payment,
    fee,
    endedAt: time,
  })),
  closed: moveTo<"closed">("closed", ({ reason, time }) => ({
    closedReason: reason,
    endedAt: time,
  })),
  cleaned: (entry, job) => {
    job(entry.jobId).cleaned = true;
  },
};

export function reduceJournal(entries: readonly JournalEntry[]): Map<string, JobState> {
  const jobs = new Map<string, JobState>();
  const job = (jobId: string): JobState => {
    let state = jobs.get(jobId);
    if (state === undefined) {
      state = { jobId, phase: "bidding", txs: {} };
      jobs.set(jobId, state);
    }
    return state;
  };
  for (const entry of entries) {
    // A journal written by a newer worker may hold entry types this one does not know: skip them.
    const fold = FOLDS[entry.type] as ((e: JournalEntry, j: typeof job) => void) | undefined;
    fold?.(entry, job);
  }
  return jobs;
}

/** Whether the job has ended but its data is still on disk (jobs/cleanup.ts removes it). */
export function needsCleanUp(state: JobState): boolean {
  return !isActive(state) && state.cleaned !== true;
}

/** Whether the worker still has something to do for the job. */
export function isActive(state: JobState): boolean {
  return state.phase !== "claimed" && state.phase !== "closed";
}
