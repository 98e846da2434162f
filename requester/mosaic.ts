// The requester's side of the demo workload: reads each verified task's tile (a binary PPM
// and a JSON note of where it goes) and assembles them into one PNG, written with node:zlib
// alone. Missing tiles (tasks that failed verification or had no quorum) stay grey, so the
// picture shows at a glance which parts of the work could not be trusted.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { deflateSync } from "node:zlib";

export interface TilePlacement {
  tile: number;
  x: number;
  y: number;
  width: number;
  height: number;
  imageWidth: number;
  imageHeight: number;
}

/** Parses a binary (P6, maxval 255) PPM. */
export function parsePpm(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  let offset = 0;
  const token = (): string => {
    for (;;) {
      while (offset < bytes.length && /\s/.test(String.fromCharCode(bytes[offset] ?? 0))) offset++;
      if (bytes[offset] === 0x23) {
        while (offset < bytes.length && bytes[offset] !== 0x0a) offset++;
        continue;
      }
      break;
    }
    const start = offset;
    while (offset < bytes.length && !/\s/.test(String.fromCharCode(bytes[offset] ?? 0))) offset++;
    return Buffer.from(bytes.subarray(start, offset)).toString("ascii");
  };
  if (token() !== "P6") throw new Error("not a binary PPM (P6)");
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!(width > 0 && height > 0 && maxval === 255)) throw new Error("unsupported PPM header");
  offset++; // the single whitespace byte after maxval
  const pixels = bytes.subarray(offset, offset + width * height * 3);
  if (pixels.length !== width * height * 3) throw new Error("truncated PPM");
  return { width, height, pixels };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** Encodes 8-bit RGB pixels as a PNG (filter 0 on every row, zlib-deflated). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", new Uint8Array()),
  ]);
}

/**
 * Assembles the tiles found under `tasksDir/<index>/` into `outFile`. Returns how many tiles
 * were placed and which task indices were missing.
 */
export async function assembleTiles(
  tasksDir: string,
  taskCount: number,
  outFile: string,
): Promise<{ placed: number; missing: number[]; width: number; height: number }> {
  const tiles: { placement: TilePlacement; pixels: Uint8Array }[] = [];
  const missing: number[] = [];
  for (let index = 0; index < taskCount; index++) {
    try {
      const dir = path.join(tasksDir, String(index));
      const placement = JSON.parse(
        await readFile(path.join(dir, "tile.json"), "utf8"),
      ) as TilePlacement;
      const ppm = parsePpm(await readFile(path.join(dir, "tile.ppm")));
      if (ppm.width !== placement.width || ppm.height !== placement.height) {
        throw new Error("tile size disagrees with its placement");
      }
      tiles.push({ placement, pixels: ppm.pixels });
    } catch {
      missing.push(index);
    }
  }
  const first = tiles[0]?.placement;
  if (first === undefined) throw new Error(`no tile could be read under ${tasksDir}`);
  const { imageWidth: width, imageHeight: height } = first;
  const rgb = new Uint8Array(width * height * 3).fill(0x60);
  for (const { placement: p, pixels } of tiles) {
    for (let row = 0; row < p.height; row++) {
      const y = p.y + row;
      if (y >= height) break;
      const columns = Math.min(p.width, width - p.x);
      rgb.set(
        pixels.subarray(row * p.width * 3, (row * p.width + columns) * 3),
        (y * width + p.x) * 3,
      );
    }
  }
  await writeFile(outFile, encodePng(width, height, rgb));
  return { placed: tiles.length, missing, width, height };
}
