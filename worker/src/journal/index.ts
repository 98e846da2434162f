export {
  type GroupRoot,
  Journal,
  type JournalEntry,
  JournalError,
  type JournalEvent,
  type MembershipRecord,
  replayJournal,
  type TaskSummary,
} from "./journal.ts";
export {
  isActive,
  type JobPhase,
  type JobState,
  needsCleanUp,
  reduceJournal,
} from "./state.ts";
