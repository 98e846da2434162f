// Seams through which a caller may change how the daemon behaves at a few points, without the
// production configuration knowing about it. The only user is the fault-injecting entry point
// of the tests and the demo (worker/src/testing/): a provider's own `conun-worker run` passes
// none, and its configuration has no setting that could turn one on.
import type { GroupRoot } from "./journal/index.ts";

export interface WorkerHooks {
  /**
   * After one of the worker's transactions for a job is mined, before the journal records it
   * (the worst moment for a crash).
   */
  afterTx?(action: string, jobId: string): Promise<void>;
  /** Whether the worker holds back its reveal for now (it stands between commit and reveal). */
  holdsReveal?(jobId: string): boolean;
  /** The roots to journal and commit, given the honest ones. */
  committedRoots?(jobId: string, honest: readonly GroupRoot[]): GroupRoot[];
}
