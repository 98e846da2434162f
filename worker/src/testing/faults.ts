// Misbehaviour on purpose, for the tests and the demo's cheater: each fault is a set of
// WorkerHooks (worker/src/hooks.ts). Nothing here is reachable from a provider's configuration;
// only the fault-injecting entry point (faulty-worker.ts) installs them, and only on the local
// chain.
import { concat, keccak256 } from "ethers";
import type { Logger } from "../../../sdk/logger.ts";
import type { WorkerHooks } from "../hooks.ts";

/**
 * `wrong-results` commits a wrong root; `stall-after-commit` stops before revealing;
 * `crash-after-<step>` kills the process (SIGKILL) right after that step's transaction is
 * mined and before the journal records it — the worst moment for a restart.
 */
export const FAULTS = [
  "none",
  "wrong-results",
  "stall-after-commit",
  "crash-after-bid",
  "crash-after-commit",
  "crash-after-reveal",
  "crash-after-claim",
] as const;

export type Fault = (typeof FAULTS)[number];

/** The only chain a fault may run on: a provider's real stake is never at risk of a test mode. */
export const FAULT_CHAIN_ID = 31337;

export function isFault(value: string): value is Fault {
  return (FAULTS as readonly string[]).includes(value);
}

const CRASH_AFTER: Partial<Record<Fault, string>> = {
  "crash-after-bid": "placeBid",
  "crash-after-commit": "commit",
  "crash-after-reveal": "reveal",
  "crash-after-claim": "claim",
};

/** The hooks that make a worker misbehave as `fault` says. */
export function faultHooks(fault: Fault, log: Logger): WorkerHooks {
  if (fault === "wrong-results") {
    return {
      committedRoots: (jobId, honest) => {
        log.warn("fault mode wrong-results: committing a wrong root (test-only)", { jobId });
        return honest.map((r) => ({
          groupId: r.groupId,
          root: keccak256(concat([r.root, "0x01"])),
        }));
      },
    };
  }
  // Stands still between commit and reveal, so a test can kill it there.
  if (fault === "stall-after-commit") return { holdsReveal: () => true };
  const crashAction = CRASH_AFTER[fault];
  if (crashAction === undefined) return {};
  return {
    afterTx: async (action, jobId) => {
      if (action !== crashAction) return;
      log.warn(`fault mode ${fault}: killing the worker (test-only)`, { jobId });
      process.kill(process.pid, "SIGKILL");
      await new Promise(() => {}); // never continue to the journal entry
    },
  };
}
