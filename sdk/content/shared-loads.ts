/**
 * Loads shared by key: every caller asking for a key while its load runs waits for that one
 * load, and a load is abandoned (its signal aborted) once every caller waiting for it has given
 * up. A load that settles is forgotten, so a later call starts afresh.
 */
export class SharedLoads<T> {
  readonly #running = new Map<string, Load<T>>();
  readonly #load: (key: string, signal: AbortSignal) => Promise<T>;

  constructor(load: (key: string, signal: AbortSignal) => Promise<T>) {
    this.#load = load;
  }

  /** The result of the load of `key`, or `signal`'s reason once it aborts (for this caller). */
  get(key: string, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let load = this.#running.get(key);
    // An abandoned load is on its way out with an abort; a new caller starts its own.
    if (load === undefined || load.abandon.signal.aborted) load = this.#start(key);
    const mine = load;
    mine.callers += 1;
    return untilAborted(mine.result, signal).finally(() => {
      mine.callers -= 1;
      if (mine.callers === 0 && !mine.settled) mine.abandon.abort();
    });
  }

  #start(key: string): Load<T> {
    const abandon = new AbortController();
    const load: Load<T> = {
      result: this.#load(key, abandon.signal),
      abandon,
      callers: 0,
      settled: false,
    };
    this.#running.set(key, load);
    const forget = () => {
      load.settled = true;
      if (this.#running.get(key) === load) this.#running.delete(key);
    };
    load.result.then(forget, forget);
    return load;
  }
}

interface Load<T> {
  result: Promise<T>;
  abandon: AbortController;
  callers: number;
  settled: boolean;
}

/** A counting semaphore whose waits can be given up with a signal. */
export class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Waits for a free slot (FIFO); rejects with `signal`'s reason if it aborts first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const granted = () => {
        signal?.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.#waiting.splice(this.#waiting.indexOf(granted), 1);
        reject(signal?.reason);
      };
      this.#waiting.push(granted);
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  /** Hands the slot to the longest waiter, or frees it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free += 1;
    else next();
  }
}

/** `promise`, or a rejection with `signal`'s reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    signal.addEventListener("abort", aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", aborted);
        reject(error);
      },
    );
  });
}
