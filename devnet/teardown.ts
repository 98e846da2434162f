// What a devnet started, to be stopped in the reverse order: every piece registers its stop
// here as soon as it is up, so a failure (or a signal) half-way through stopping everything
// already started, and nothing twice.
import { ConunError, errorCodes } from "../sdk/errors.ts";

export const DEVNET_START_ERROR_CODES = errorCodes("devnet-start", [
  "node-failed",
  "deploy-failed",
  "no-accounts",
  "subgraph-build-failed",
  "worker-failed",
  "docker-missing",
  "docker-not-running",
  "demo-running",
] as const);

/** A failure to start or reach a piece of the local system; `code` names which. */
export class DevnetStartError extends ConunError<(typeof DEVNET_START_ERROR_CODES)[number]> {}
declare module "../sdk/errors.ts" {
  interface ConunErrorDomains {
    "devnet-start": DevnetStartError;
  }
}

export class Teardown {
  readonly #stops: (() => Promise<void>)[] = [];
  #running: Promise<void> | undefined;

  constructor(
    private readonly onError: (error: unknown) => void = (error) =>
      console.error(`cleanup: ${String(error)}`),
  ) {}

  /** Registers `stop`; it runs before everything registered earlier. */
  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  /** Runs every registered stop once, newest first; a failing stop does not keep the others. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const stop of this.#stops.reverse()) await stop().catch(this.onError);
    })();
    return this.#running;
  }
}
