/**
 * The worker's sandboxed execution: getting a job's image (pinned, verified) and running
 * one task in a locked-down Docker container with hard limits.
 */

export {
  type ImageArchive,
  inspectImageArchiveFile as inspectImageArchive,
} from "../../../sdk/content/image-archive-file.ts";
export { removeStaleContainers } from "./containers.ts";
export { connectDocker, DEFAULT_API_TIMEOUT_MS, DEFAULT_DOCKER_SOCKET } from "./docker.ts";
export { ExecutionError } from "./errors.ts";
export {
  DEFAULT_MAX_IMAGE_BYTES,
  type EnsuredImage,
  type EnsureImageOptions,
  ensureImage,
  type ImageSource,
  parseImageRef,
} from "./image.ts";
export { removeOutput } from "./output-cleanup.ts";
export {
  OUTPUT_SLACK_BYTES,
  type OutputBound,
  type OutputQuotaMechanism,
  type OutputQuotaProbe,
  probeOutputQuota,
  removeStaleOutputMounts,
  resolveOutputBound,
} from "./output-quota.ts";
export {
  DEFAULT_TASK_USER,
  defaultTaskUser,
  LABEL_JOB,
  LABEL_TASK,
  LABEL_WORKER,
  type RunTaskOptions,
  runTask,
  type TaskLimits,
  type TaskResult,
  type TaskStatus,
} from "./run-task.ts";
