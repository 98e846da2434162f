// The protocol's bounds (JobMarket's public constants) and its deployment defaults, in one place:
// the Ignition module (ignition/modules/conun.ts), the ethers deployer (sdk/chain/deploy.ts) and
// the contract tests' deployer (devnet/protocol.ts) all read the defaults from here, and
// test/sdk/protocol.test.ts checks the bounds against the compiled contract.

/** 1 CONUN in wei (the token has 18 decimals). */
export const ONE_CONUN = 10n ** 18n;

const DAY = 24n * 60n * 60n;

/** JobMarket's public constants (`MAX_*`): what `postJob`, `placeBid` and `setProtocolFee` accept. */
export const PROTOCOL_LIMITS = {
  /** JobMarket.MAX_TASK_COUNT */
  maxTaskCount: 1_000_000,
  /** JobMarket.MAX_REPLICATION: members per replica group. */
  maxReplication: 8,
  /** JobMarket.MAX_BIDS_PER_JOB: standing bids a job holds at once. */
  maxBidsPerJob: 64,
  /** JobMarket.MAX_BIDDING_WINDOW (7 days), seconds. */
  maxBiddingWindow: 7 * 24 * 3600,
  /** JobMarket.MAX_EXECUTION_WINDOW (14 days), seconds. */
  maxExecutionWindow: 14 * 24 * 3600,
  /** JobMarket.MAX_REVEAL_WINDOW (3 days), seconds. */
  maxRevealWindow: 3 * 24 * 3600,
  /** JobMarket.MAX_FEE_BPS (5 %). */
  maxFeeBps: 500,
} as const;

/**
 * Fewest task-replicas one bid may offer (JobMarket.minBidCapacity): enough that a full book of
 * `maxBidsPerJob` bids always covers the job's `taskCount × replication` task-replicas.
 */
export function minBidCapacity(taskCount: number, replication: number): number {
  return Math.ceil((taskCount * replication) / PROTOCOL_LIMITS.maxBidsPerJob);
}

/**
 * What a deployment uses when not told otherwise (the Ignition module's parameter defaults;
 * ignition/parameters/<network>.json overrides them per network).
 */
export const DEPLOY_DEFAULTS = {
  /** Fixed token supply, in wei: 1,000,000,000 CONUN. */
  supply: 1_000_000_000n * ONE_CONUN,
  /**
   * Registry unstake cooldown, seconds: 28 days. The market's constructor requires more than the
   * longest job (bidding + execution + reveal windows, 24 days), so no provider can unstake
   * before a slash that is still pending.
   */
  unstakeCooldown: 28n * DAY,
  /** Protocol fee on provider payments, basis points: 100 = 1 %. */
  feeBps: 100n,
} as const;
