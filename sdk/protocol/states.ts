// The protocol's stored states, as IJobMarket declares them: a job's status, a replica group's
// outcome and a member's slash reason, each as name → on-chain enum value, with the names in
// enum order. Everything off chain that reads, stores or shows one of these imports it from here,
// and handles it with an exhaustive `Record<…, T>` or a `switch` ending in `assertNever`, so a new
// state is a compile error wherever it is not handled yet.

/** `IJobMarket.JobStatus`: name → enum value. `None` (0) means "no such job". */
export const JobStatus = {
  None: 0,
  Open: 1,
  Cancelled: 2,
  Unfilled: 3,
  Awarded: 4,
  Finalized: 5,
} as const;

export type JobStatusName = keyof typeof JobStatus;
export type JobStatusValue = (typeof JobStatus)[JobStatusName];
/** The status of a job that exists: the subgraph's `JobStatus` enum (it has no `None`). */
export type PostedJobStatus = Exclude<JobStatusName, "None">;

/** `IJobMarket.GroupOutcome`: name → enum value. */
export const GroupOutcome = { Pending: 0, Agreed: 1, NoQuorum: 2 } as const;
export type GroupOutcomeName = keyof typeof GroupOutcome;

/** `IJobMarket.SlashReason`: name → enum value. `None` (0) means "not slashed". */
export const SlashReason = { None: 0, WrongResult: 1, NoCommit: 2, NoReveal: 3 } as const;
export type SlashReasonName = keyof typeof SlashReason;
/** The reason of a slash that happened: the subgraph's `SlashReason` enum (it has no `None`). */
export type AppliedSlashReason = Exclude<SlashReasonName, "None">;

/** The names of an enum's values, indexed by value (an enum's values are 0, 1, 2, … in order). */
function namesOf<Name extends string>(values: Record<Name, number>): readonly Name[] {
  const names: Name[] = [];
  for (const [name, value] of Object.entries(values) as [Name, number][]) names[value] = name;
  return Object.freeze(names);
}

/** `JobStatus` names indexed by enum value: `JOB_STATUS_NAMES[4] === "Awarded"`. */
export const JOB_STATUS_NAMES: readonly JobStatusName[] = namesOf(JobStatus);
/** `GroupOutcome` names indexed by enum value. */
export const GROUP_OUTCOME_NAMES: readonly GroupOutcomeName[] = namesOf(GroupOutcome);
/** `SlashReason` names indexed by enum value. */
export const SLASH_REASON_NAMES: readonly SlashReasonName[] = namesOf(SlashReason);

function nameOf<Name extends string>(
  names: readonly Name[],
  what: string,
  value: number | bigint,
): Name {
  const name = names[Number(value)];
  if (name === undefined) throw new RangeError(`unknown ${what} ${value}`);
  return name;
}

/** The name of an on-chain `JobStatus` value (as ethers decodes it: a bigint). */
export function jobStatusName(value: number | bigint): JobStatusName {
  return nameOf(JOB_STATUS_NAMES, "IJobMarket.JobStatus", value);
}

/** The name of an on-chain `GroupOutcome` value. */
export function groupOutcomeName(value: number | bigint): GroupOutcomeName {
  return nameOf(GROUP_OUTCOME_NAMES, "IJobMarket.GroupOutcome", value);
}

/** The name of an on-chain `SlashReason` value. */
export function slashReasonName(value: number | bigint): SlashReasonName {
  return nameOf(SLASH_REASON_NAMES, "IJobMarket.SlashReason", value);
}

/** Whether a job in this status can never change again (its money is all credited). */
const TERMINAL: Record<JobStatusName, boolean> = {
  None: false,
  Open: false,
  Cancelled: true,
  Unfilled: true,
  Awarded: false,
  Finalized: true,
};

/** Cancelled, Unfilled and Finalized: no transition leaves them. */
export function isTerminalStatus(status: JobStatusName): boolean {
  return TERMINAL[status];
}

/** The statuses no transition leaves, in enum order. */
export const TERMINAL_STATUSES: readonly JobStatusName[] =
  JOB_STATUS_NAMES.filter(isTerminalStatus);

/**
 * Which of a job's two ways to end without results its status can show: too little capacity to
 * fill it (`fill`: while Open, and once Unfilled) or a replica group without quorum (`quorum`:
 * from the award on); `null` when neither applies. Explanations ("why not filled", "why no
 * quorum") pick their question by it.
 */
const FAILURE_STAGE: Record<JobStatusName, "fill" | "quorum" | null> = {
  None: null,
  Open: "fill",
  Cancelled: null,
  Unfilled: "fill",
  Awarded: "quorum",
  Finalized: "quorum",
};

/** See FAILURE_STAGE: `fill` for Open and Unfilled, `quorum` for Awarded and Finalized. */
export function failureStage(status: JobStatusName): "fill" | "quorum" | null {
  return FAILURE_STAGE[status];
}

/**
 * Ends an exhaustive `switch`: the call only compiles when every case was handled, so adding a
 * state to one of the unions above fails the build wherever it is not handled yet.
 */
export function assertNever(value: never, what = "value"): never {
  throw new Error(`unhandled ${what}: ${String(value)}`);
}
