import Docker from "dockerode";
import { ExecutionError } from "./errors.ts";

/** The socket a worker talks to unless configured otherwise. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** How long one short Docker API call (create, start, kill, inspect, remove) may take. */
export const DEFAULT_API_TIMEOUT_MS = 15_000;

/** A Docker client on a local socket. Nothing is sent until the first call. */
export function connectDocker(options: { socketPath?: string } = {}): Docker {
  return new Docker({ socketPath: options.socketPath ?? DEFAULT_DOCKER_SOCKET });
}

/** A signal that fires on the caller's signal or after `ms`, whichever comes first. */
export function deadline(ms: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}

/**
 * Runs one Docker API call with an abort signal bounded by `ms`, turning a timeout into a
 * clear `docker-timeout` error and anything else into `docker-failed` (the HTTP status is kept
 * in `details.statusCode` so callers can tolerate a 404 or 409).
 */
export async function dockerCall<T>(
  what: string,
  ms: number,
  call: (abortSignal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const bounded = deadline(ms, signal);
  // Not every dockerode method forwards the signal to its request, so the race is what
  // actually bounds the wait.
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(bounded.reason);
    if (bounded.aborted) onAbort();
    else bounded.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([call(bounded), aborted]);
  } catch (cause) {
    if (bounded.aborted && !signal?.aborted) {
      throw new ExecutionError("docker-timeout", `Docker did not answer ${what} within ${ms} ms`, {
        cause,
        details: { what, timeoutMs: ms },
      });
    }
    const statusCode = (cause as { statusCode?: number }).statusCode;
    const message = (cause as { json?: { message?: string } }).json?.message ?? String(cause);
    throw new ExecutionError("docker-failed", `Docker failed to ${what}: ${message}`, {
      cause,
      details: { what, statusCode },
    });
  } finally {
    bounded.removeEventListener("abort", onAbort);
  }
}

/** The HTTP status of a failed Docker call, when it had one. */
export function dockerStatus(error: unknown): number | undefined {
  const details = (error as { details?: { statusCode?: unknown } }).details;
  return typeof details?.statusCode === "number" ? details.statusCode : undefined;
}
