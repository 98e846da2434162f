// What a devnet started, to be stopped in the reverse order: every piece registers its stop
// here as soon as it is up, so a failure (or a signal) half-way through stopping everything
// already started, and nothing twice.
import { errorClass } from "../sdk/errors.ts";

/** A failure to start or reach a piece of the local system; `code` names which. */
export class DevnetStartError extends errorClass("devnet-start", [
  "node-failed",
  "deploy-failed",
  "no-accounts",
  "subgraph-build-failed",
  "worker-failed",
  "docker-missing",
  "docker-not-running",
  "demo-running",
]) {}

declare module "../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"devnet-start", DevnetStartError> {}
}

export class Teardown {
  readonly #stops: (() => Promise<void>)[] = [];
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | undefined;

  /** `onError` is told of each stop that fails (default: a `cleanup: …` line on stderr). */
  constructor(
    onError: (error: unknown) => void = (error) => console.error(`cleanup: ${String(error)}`),
  ) {
    this.#onError = onError;
  }

  /** Registers `stop`; it runs before everything registered earlier. */
  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  /** Runs every registered stop once, newest first; a failing stop does not keep the others. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const stop of this.#stops.reverse()) await stop().catch(this.#onError);
    })();
    return this.#running;
  }
}
