// What the execution tests (test/worker/execution*.test.ts, hostile.test.ts) share: a scratch
// folder per test, the busybox test image, a runTask with the file's defaults, and a rejection
// helper. Each `use…` registers its mocha hooks where it is called and returns a getter.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxImage, type TestImage } from "../../../devnet/images.ts";
import {
  connectDocker,
  runTask,
  type TaskLimits,
  type TaskResult,
} from "../../../worker/src/execution/index.ts";

export const docker = connectDocker();

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; message?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  throw new Error("expected a rejection");
}

/** A fresh temporary folder for each test, removed after it. */
export function useScratch(prefix: string): () => string {
  let scratch: string | undefined;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    scratch = undefined;
  });
  return () => {
    if (scratch === undefined) throw new Error("no scratch folder outside a test");
    return scratch;
  };
}

/** The busybox test image (built or found once, before the file's tests). */
export function useBusybox(): () => TestImage {
  let image: TestImage | undefined;
  before(async function () {
    this.timeout(60_000);
    image = await busyboxImage();
  });
  return () => {
    if (image === undefined) throw new Error("the busybox image is not ready");
    return image;
  };
}

export type RunOptions = Partial<Parameters<typeof runTask>[0]>;

/**
 * runTask with a file's defaults: the busybox image, a fresh /output under the scratch folder,
 * the file's limits and labels (its worker id lets a test find its own containers).
 */
export function taskRunner(defaults: {
  image: () => TestImage;
  scratch: () => string;
  limits: TaskLimits;
  jobId: bigint;
  workerId: string;
}): (command: string[], extra?: RunOptions) => Promise<TaskResult> {
  return (command, extra = {}) =>
    runTask({
      docker,
      imageId: defaults.image().id,
      command,
      outputDir: join(defaults.scratch(), `out-${randomUUID()}`),
      limits: defaults.limits,
      labels: { jobId: defaults.jobId, taskIndex: 0, workerId: defaults.workerId },
      ...extra,
    });
}
