// The economic model of the integrity simulator: what a colluding party gains when a wrong
// root is accepted, what it loses when it is caught, and who pays an escalation. All figures
// are in CONUN per task of a group (a group of n tasks multiplies them by n).
//
// - Gain: `gainPerTask` for every task of a group whose wrong root is accepted — the value of
//   a corrupted result to whoever bought the colluders (default 3 CONUN: what a 3-replica job
//   at the default max price pays for a right one). Colluders are paid for their lanes as
//   honest providers would be, so deviating costs them nothing when it wins.
// - Loss: when the wrong side loses an escalation, every colluding member of the group and
//   every colluding member of the escalation panel that voted the wrong root is slashed
//   `stakePerTaskReplica`; its payment for the group is forgone too, but colluders bid the
//   lowest price, so that is taken as zero (in the attacker's favour).
// - v1: a root with q votes wins; a wrong majority is never at risk, the honest minority is
//   slashed. v2 (P1): a group whose members disagree is escalated to a panel of k providers
//   drawn afresh from the job's other bidders (weighted by the capacity they bid, i.e. the
//   stake they locked); the root q panel members confirm wins and the other side is slashed,
//   majority included. A panel without q votes for either root cannot decide: nobody is
//   slashed for dissent and the requester is refunded for the group.
// - Escalation cost: the panel is paid `maxPrice` per task-replica out of the losing side's
//   slash; when the slash is smaller, the requester pays the shortfall (counted in the
//   requester's cost multiplier). An undecided panel is paid by the requester.
// Compute costs are left out: honest providers are paid their price either way, and a
// colluder that skips the work saves at most its (lowest) price.

export interface Economics {
  /** The job's max price per task-replica, in CONUN (what an escalation panel is paid). */
  maxPrice: number;
  /** Stake per task-replica, in CONUN (`jobSpec()`'s default, 2). */
  stakePerTaskReplica: number;
  /** What the attacker gains per task of a group whose wrong root is accepted, in CONUN. */
  gainPerTask: number;
}

export const DEFAULT_ECONOMICS: Economics = {
  maxPrice: 1,
  stakePerTaskReplica: 2,
  gainPerTask: 3,
};

/**
 * The attacker's expected profit per group is linear in the stake: gain - slashedLanes * stake,
 * with `gain` the expected gain and `slashedLanes` the expected colluding task-replicas slashed
 * per group. It stops paying at stake = gain / slashedLanes; a model that never slashes a
 * colluder (v1) has no such stake (Infinity).
 */
export function breakEvenStake(gain: number, slashedLanes: number): number {
  if (gain <= 0) return 0;
  return slashedLanes > 0 ? gain / slashedLanes : Number.POSITIVE_INFINITY;
}

/**
 * The audit probability above which colluders holding all k lanes (no dispute, nothing to
 * escalate) lose money by deviating: an audited group is an escalation they lose, slashing
 * k lanes. gain * (1 - a) < a * k * stake  <=>  a > gain / (gain + k * stake).
 */
export function auditRateToDeter(economics: Economics, k: number): number {
  return economics.gainPerTask / (economics.gainPerTask + k * economics.stakePerTaskReplica);
}
