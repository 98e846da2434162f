import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { CID } from "multiformats/cid";
import { ContentError } from "../../../sdk/content/errors.ts";
import {
  inspectImageArchiveFile,
  sanitizedArchiveFile,
} from "../../../sdk/content/image-archive-file.ts";
import type { ContentStore } from "../../../sdk/content/types.ts";
import { type Logger, silentLogger } from "../../../sdk/logger.ts";
import { DEFAULT_API_TIMEOUT_MS, deadline, dockerCall, dockerStatus } from "./docker.ts";
import { ExecutionError } from "./errors.ts";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
/** `name[:tag]@sha256:<64 hex>`, name as the distribution reference grammar allows. */
const PINNED_REF =
  /^[a-z0-9][a-z0-9._\-/:]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$/;

export type ImageSource = { kind: "registry"; ref: string } | { kind: "archive"; cid: string };

/**
 * Parses a manifest's `image.ref`: `ipfs://<cid>` (a `docker save` tarball in the content
 * store) or a registry reference pinned by digest. A tag alone is refused: it names whatever
 * the registry serves today, not the image the requester tested.
 */
export function parseImageRef(ref: string): ImageSource {
  if (ref.startsWith("ipfs://")) {
    const cid = ref.slice("ipfs://".length);
    try {
      CID.parse(cid);
    } catch (cause) {
      throw new ExecutionError("image-ref-invalid", `not a CID: ${ref}`, {
        cause,
        details: { ref },
      });
    }
    return { kind: "archive", cid };
  }
  if (!ref.includes("@")) {
    throw new ExecutionError("image-not-pinned", `image reference has no digest: ${ref}`, {
      details: { ref },
    });
  }
  if (!PINNED_REF.test(ref)) {
    throw new ExecutionError("image-ref-invalid", `malformed image reference: ${ref}`, {
      details: { ref },
    });
  }
  return { kind: "registry", ref };
}

export interface EnsureImageOptions {
  docker: Docker;
  /** Needed for `ipfs://` references. */
  contentStore?: ContentStore;
  signal?: AbortSignal;
  logger?: Logger;
  /** Bound on pulling or exporting + loading the image. Default 10 minutes. */
  fetchTimeoutMs?: number;
  /** Bound on each short API call. */
  apiTimeoutMs?: number;
  /** Scratch space for archives exported from the content store; default the OS temp dir. */
  workDir?: string;
  /** Largest image archive accepted from the content store; default 8 GiB. */
  maxImageBytes?: number;
}

export interface EnsuredImage {
  imageId: string;
  /** `local`: already present; `pulled`: from a registry; `loaded`: from an archive. */
  origin: "local" | "pulled" | "loaded";
}

function mismatch(ref: string, expectedId: string, actualId: string): ExecutionError {
  return new ExecutionError(
    "image-digest-mismatch",
    `image ${ref} is ${actualId}, not the ${expectedId} the job names`,
    { details: { ref, expectedId, actualId } },
  );
}

async function localImageId(
  docker: Docker,
  nameOrId: string,
  apiTimeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const info = await dockerCall(
      "inspect an image",
      apiTimeoutMs,
      (abortSignal) => docker.getImage(nameOrId).inspect({ abortSignal } as object),
      signal,
    );
    return info.Id;
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw error;
  }
}

/** Reads a streamed Docker response of JSON lines to the end; fails on an `error` line. */
async function drainProgress(
  stream: NodeJS.ReadableStream,
  what: "pull" | "load",
): Promise<string[]> {
  const messages: string[] = [];
  let rest = "";
  const take = (line: string) => {
    if (line.trim() === "") return;
    let event: { error?: string; stream?: string; status?: string };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (event.error !== undefined) {
      throw new ExecutionError(`image-${what}-failed`, `Docker could not ${what}: ${event.error}`);
    }
    const text = event.stream ?? event.status;
    if (text !== undefined && messages.length < 1000) messages.push(text.trim());
  };
  for await (const chunk of stream) {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) take(line);
  }
  take(rest);
  return messages;
}

async function removeQuietly(docker: Docker, id: string, log: Logger, apiTimeoutMs: number) {
  try {
    await dockerCall("remove an image", apiTimeoutMs, (abortSignal) =>
      docker.getImage(id).remove({ abortSignal }),
    );
    log.info("removed mismatching image", { imageId: id });
  } catch (error) {
    log.warn("could not remove mismatching image", { imageId: id, error });
  }
}

async function pull(ref: string, expectedId: string, options: EnsureImageOptions) {
  const { docker } = options;
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const log = (options.logger ?? silentLogger).child("image");
  const bounded = deadline(options.fetchTimeoutMs ?? 600_000, options.signal);
  try {
    const stream = (await docker.pull(ref, { abortSignal: bounded })) as NodeJS.ReadableStream;
    bounded.addEventListener("abort", () => (stream as Readable).destroy?.(), { once: true });
    await drainProgress(stream, "pull");
  } catch (cause) {
    if (cause instanceof ExecutionError) throw cause;
    const message = bounded.aborted ? "pull timed out or was cancelled" : String(cause);
    throw new ExecutionError("image-pull-failed", `could not pull ${ref}: ${message}`, {
      cause,
      details: { ref },
    });
  }
  const actual = await localImageId(docker, ref, apiTimeoutMs, options.signal);
  if (actual === undefined) {
    throw new ExecutionError("image-pull-failed", `pulled ${ref} but the engine does not have it`);
  }
  if (actual !== expectedId) {
    await removeQuietly(docker, ref, log, apiTimeoutMs);
    throw mismatch(ref, expectedId, actual);
  }
  log.info("pulled image", { ref, imageId: actual });
  return actual;
}

/** The largest image archive a worker stores unless configured otherwise: 8 GiB. */
export const DEFAULT_MAX_IMAGE_BYTES = 8 * 1024 ** 3;

/**
 * Streams a file out of the content store (verified block by block) into `destination`,
 * stopping once it grows past `maxBytes`: a job's image must not be able to fill the disk.
 */
async function exportBounded(
  store: ContentStore,
  cid: string,
  destination: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<number> {
  const file = await open(destination, "wx", 0o600);
  let bytes = 0;
  try {
    for await (const chunk of store.stream(cid, { signal })) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) {
        throw new ExecutionError(
          "image-too-large",
          `image archive ipfs://${cid} exceeds ${maxBytes} bytes`,
          {
            details: { cid, maxBytes },
          },
        );
      }
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return bytes;
}

async function loadArchive(cid: string, expectedId: string, options: EnsureImageOptions) {
  const { docker, contentStore } = options;
  const ref = `ipfs://${cid}`;
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const log = (options.logger ?? silentLogger).child("image");
  if (contentStore === undefined) {
    throw new ExecutionError("content-store-required", `a content store is needed for ${ref}`);
  }
  const bounded = deadline(options.fetchTimeoutMs ?? 600_000, options.signal);
  const scratch = await mkdtemp(join(options.workDir ?? tmpdir(), "conun-image-"));
  try {
    const tarball = join(scratch, "image.tar");
    await exportBounded(
      contentStore,
      cid,
      tarball,
      options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES,
      bounded,
    );
    const archive = await inspectImageArchiveFile(tarball);
    if (archive.imageId !== expectedId) throw mismatch(ref, expectedId, archive.imageId);
    let messages: string[];
    try {
      const body = Readable.from(sanitizedArchiveFile(archive));
      const stream = (await docker.loadImage(body, {
        quiet: true,
        abortSignal: bounded,
      })) as NodeJS.ReadableStream;
      bounded.addEventListener("abort", () => (stream as Readable).destroy?.(), { once: true });
      messages = await drainProgress(stream, "load");
    } catch (cause) {
      if (cause instanceof ExecutionError || cause instanceof ContentError) throw cause;
      throw new ExecutionError("image-load-failed", `could not load ${ref}: ${String(cause)}`, {
        cause,
        details: { ref },
      });
    }
    // The archive was checked above; this catches an engine that disagrees with that check.
    const loaded = messages.flatMap((m) => m.match(/sha256:[0-9a-f]{64}/g) ?? []);
    for (const id of loaded.filter((id) => id !== expectedId)) {
      await removeQuietly(docker, id, log, apiTimeoutMs);
    }
    const actual = await localImageId(docker, expectedId, apiTimeoutMs, options.signal);
    if (actual !== expectedId) throw mismatch(ref, expectedId, loaded[0] ?? "nothing");
    log.info("loaded image archive", { ref, imageId: actual, tagsStripped: archive.repoTags });
    return actual;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Makes the job's image available and proves it is the one the job names: the resulting
 * image ID must equal `expectedId` (`sha256:<config digest>`), or the image is refused with
 * `image-digest-mismatch` before any container could start. A registry reference must be
 * pinned by digest; an `ipfs://<cid>` archive is exported (verified) from the content store,
 * checked, stripped of tags and loaded. A present image is used as is.
 */
export async function ensureImage(
  ref: string,
  expectedId: string,
  options: EnsureImageOptions,
): Promise<EnsuredImage> {
  if (!IMAGE_ID.test(expectedId)) {
    throw new ExecutionError("image-ref-invalid", `malformed image ID: ${expectedId}`, {
      details: { expectedId },
    });
  }
  const source = parseImageRef(ref);
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  if (source.kind === "archive") {
    // An image ID is the digest of its config, which pins every layer: same ID, same image.
    const present = await localImageId(options.docker, expectedId, apiTimeoutMs, options.signal);
    if (present === expectedId) return { imageId: expectedId, origin: "local" };
    return { imageId: await loadArchive(source.cid, expectedId, options), origin: "loaded" };
  }
  const present = await localImageId(options.docker, ref, apiTimeoutMs, options.signal);
  if (present !== undefined) {
    if (present !== expectedId) throw mismatch(ref, expectedId, present);
    return { imageId: present, origin: "local" };
  }
  return { imageId: await pull(ref, expectedId, options), origin: "pulled" };
}
