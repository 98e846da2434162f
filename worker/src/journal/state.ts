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

const ORDER: JobPhase[] = [
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
  /** Transaction hashes signed for this job, by action. */
  txs: Record<string, string[]>;
}

function advance(state: JobState, phase: JobPhase): void {
  if (ORDER.indexOf(phase) > ORDER.indexOf(state.phase)) state.phase = phase;
}

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
    switch (entry.type) {
      case "bid-intent": {
        const state = job(entry.jobId);
        state.price = entry.price;
        state.capacity = entry.capacity;
        break;
      }
      case "tx-signed":
        if (entry.jobId !== undefined) {
          const state = job(entry.jobId);
          const list = state.txs[entry.action] ?? [];
          list.push(entry.hash);
          state.txs[entry.action] = list;
        }
        break;
      case "bid-placed":
        advance(job(entry.jobId), "bid-placed");
        break;
      case "awarded": {
        const state = job(entry.jobId);
        state.memberships = entry.memberships;
        state.commitDeadline = entry.commitDeadline;
        state.revealDeadline = entry.revealDeadline;
        advance(state, "awarded");
        break;
      }
      case "results": {
        const state = job(entry.jobId);
        state.salt = entry.salt;
        state.roots = entry.roots;
        state.resultsCid = entry.resultsCid;
        state.tasks = entry.tasks;
        advance(state, "results");
        break;
      }
      case "committed":
        advance(job(entry.jobId), "committed");
        break;
      case "revealed":
        advance(job(entry.jobId), "revealed");
        break;
      case "finalized":
        advance(job(entry.jobId), "finalized");
        break;
      case "claimed": {
        const state = job(entry.jobId);
        state.payment = entry.payment;
        state.fee = entry.fee;
        advance(state, "claimed");
        break;
      }
      case "closed": {
        const state = job(entry.jobId);
        state.closedReason = entry.reason;
        advance(state, "closed");
        break;
      }
      default:
        break;
    }
  }
  return jobs;
}

/** Whether the worker still has something to do for the job. */
export function isActive(state: JobState): boolean {
  return state.phase !== "claimed" && state.phase !== "closed";
}
