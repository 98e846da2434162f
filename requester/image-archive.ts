// The image ID of a manifest's image.archive, read without Docker by the one archive reader
// (sdk/content/image-archive.ts): the archive's manifest.json names the image's config blob,
// and the image ID is the SHA-256 of that blob. What is the requester's own is the message
// for a path that is not there, which names the fix.
import { stat } from "node:fs/promises";
import { inspectImageArchiveFile } from "../sdk/content/image-archive-file.ts";
import { RequesterError } from "./errors.ts";

/**
 * The image ID (`sha256:<64 hex>`) of the image in a `docker save` archive. A path that is not
 * there (or not a file) is one line naming it and the fix, not a file-system stack trace.
 */
export async function imageIdOfArchive(archive: string): Promise<string> {
  const info = await stat(archive).catch((cause: NodeJS.ErrnoException) => {
    throw new RequesterError(
      "manifest-unreadable",
      cause.code === "ENOENT" || cause.code === "ENOTDIR"
        ? `image.archive: ${archive} does not exist: save the image there with ` +
            `\`docker save -o ${archive} <image>\`, or fix the path (it is relative to the manifest)`
        : `image.archive: cannot read ${archive} (${cause.code ?? cause.message})`,
      { cause, details: { archive } },
    );
  });
  if (!info.isFile()) {
    throw new RequesterError(
      "manifest-unreadable",
      `image.archive: ${archive} is not a file: name the \`docker save\` tarball itself`,
      { details: { archive } },
    );
  }
  return (await inspectImageArchiveFile(archive)).imageId;
}
