import type Docker from "dockerode";
import { describeError } from "../../../sdk/errors.ts";
import { type Logger, silentLogger } from "../../../sdk/logger.ts";
import { DEFAULT_API_TIMEOUT_MS, dockerCall, dockerStatus } from "./docker.ts";
import { LABEL_JOB, LABEL_WORKER } from "./run-task.ts";

/**
 * Removes the task containers a previous run of this worker left behind (a crash between
 * start and cleanup). With `workerId`, only containers labelled with it are touched, so
 * several workers can share one engine; without it, every CONUN task container goes.
 * Returns how many were removed.
 */
export async function removeStaleContainers(options: {
  docker: Docker;
  workerId?: string;
  logger?: Logger;
  apiTimeoutMs?: number;
}): Promise<number> {
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const log = (options.logger ?? silentLogger).child("execution");
  const label = [LABEL_JOB];
  if (options.workerId !== undefined) label.push(`${LABEL_WORKER}=${options.workerId}`);
  const stale = await dockerCall("list containers", apiTimeoutMs, (abortSignal) =>
    options.docker.listContainers({ all: true, filters: { label }, abortSignal } as object),
  );
  let removed = 0;
  for (const info of stale) {
    try {
      await dockerCall("remove a container", apiTimeoutMs, (abortSignal) =>
        options.docker
          .getContainer(info.Id)
          .remove({ force: true, v: true, abortSignal } as object),
      );
      removed += 1;
      log.info("removed stale task container", { containerId: info.Id, labels: info.Labels });
    } catch (error) {
      if (dockerStatus(error) !== 404) {
        log.warn("could not remove stale container", {
          containerId: info.Id,
          error: describeError(error),
        });
      }
    }
  }
  return removed;
}
