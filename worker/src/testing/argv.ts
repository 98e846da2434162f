// How an orchestrator (devnet/workers.ts) starts a worker with or without a test fault, without
// importing the worker itself (importing the CLI would install its signal handlers).
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The plain CLI, `node worker/src/cli.ts …`. */
export const WORKER_CLI_PATH = path.join(HERE, "..", "cli.ts");
/** The fault-injecting entry point, `node worker/src/testing/faulty-worker.ts --fault <mode> …`. */
export const FAULTY_WORKER_PATH = path.join(HERE, "faulty-worker.ts");

/**
 * The argv after the Node binary that starts a worker with `fault` ("none" or undefined: the
 * plain CLI), e.g. `workerArgv("wrong-results", ["run", "--config", file])`.
 */
export function workerArgv(fault: string | undefined, args: readonly string[]): string[] {
  if (fault === undefined || fault === "none") return [WORKER_CLI_PATH, ...args];
  return [FAULTY_WORKER_PATH, "--fault", fault, ...args];
}
