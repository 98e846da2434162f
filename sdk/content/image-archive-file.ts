// The file-system companion of image-archive.ts: the same reader over a file on disk, read
// with positioned reads so a large image is never loaded whole.
import { type FileHandle, open } from "node:fs/promises";
import {
  type ArchiveReader,
  type ImageArchive,
  inspectImageArchive,
  sanitizedArchive,
} from "./image-archive.ts";

export type { ImageArchive, TarEntry } from "./image-archive.ts";

async function fileReader(file: FileHandle): Promise<ArchiveReader> {
  const { size } = await file.stat();
  return {
    size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
  };
}

/** inspectImageArchive over the file at `path`. */
export async function inspectImageArchiveFile(path: string): Promise<ImageArchive> {
  const file = await open(path, "r");
  try {
    return await inspectImageArchive(await fileReader(file), path);
  } finally {
    await file.close();
  }
}

/** sanitizedArchive over the archive's file, as Buffers (what Node streams expect). */
export async function* sanitizedArchiveFile(archive: ImageArchive): AsyncGenerator<Buffer> {
  const file = await open(archive.path, "r");
  try {
    for await (const chunk of sanitizedArchive(archive, await fileReader(file))) {
      yield Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    }
  } finally {
    await file.close();
  }
}
