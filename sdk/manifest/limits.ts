import { PROTOCOL_LIMITS } from "../protocol/limits.ts";

/**
 * Bounds a manifest must respect. The protocol's own bounds are JobMarket's constants
 * (sdk/protocol/limits.ts) and the widths of IJobMarket.JobSpec (a test reads both, so they
 * cannot drift); the rest are this format's choices, explained where they are not obvious.
 */
export const LIMITS = {
  maxTaskCount: PROTOCOL_LIMITS.maxTaskCount,
  maxReplication: PROTOCOL_LIMITS.maxReplication,
  maxBiddingSeconds: PROTOCOL_LIMITS.maxBiddingWindow,
  maxExecutionSeconds: PROTOCOL_LIMITS.maxExecutionWindow,
  maxRevealSeconds: PROTOCOL_LIMITS.maxRevealWindow,
  /** JobSpec.cpuMillicores / memoryMiB are uint32. */
  maxUint32: 4_294_967_295,
  /** JobSpec.gpuCount is uint16. */
  maxUint16: 65_535,
  /** JobSpec.maxPrice / stakePerTaskReplica are uint96 (in wei, 18 decimals). */
  maxUint96: (1n << 96n) - 1n,
  /** Docker refuses memory limits under 6 MiB. */
  minMemoryMiB: 6,
  /** Linux's default pid_max is 2^22; a per-task limit above it limits nothing. */
  maxPids: 4_194_304,
  maxCommandEntries: 1024,
  maxArgumentLength: 65_536,
  maxEnvEntries: 256,
  maxInputs: 64,
  maxNameLength: 64,
  maxDescriptionLength: 4096,
  /** Largest serialized (resolved) manifest. Workers read it whole before bidding, so it is
   * bounded like any untrusted download; per-task data beyond this belongs in an input. */
  maxManifestBytes: 1024 * 1024,
  /** Output is stored and hashed by every replica; a bound keeps a hostile job cheap to stop. */
  maxOutputBytes: 1024 ** 4,
} as const;

/** Defaults applied when a field is left out. */
export const DEFAULTS = {
  deterministic: true,
  gpuCount: 0,
  maxOutputBytes: 100 * 1024 * 1024,
  pids: 256,
} as const;

/** Environment variables the worker sets for each task; a manifest may not set them. */
export const RESERVED_ENV = ["TASK_INDEX", "TASK_COUNT"] as const;
