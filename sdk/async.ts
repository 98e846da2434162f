// Small waiting primitives shared by the indexer, the chain layer and the requester tools.
// Browser-safe (timers only): the dApp imports the chain layer.

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (at once if it
 * already has), so every wait in a retry or polling loop can be cancelled.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
