import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inflateSync } from "node:zlib";
import { expect } from "chai";
import { assembleTiles, encodePng, parsePpm } from "../../requester/mosaic.ts";

/** Splits a PNG into its chunks, checking the signature and every CRC. */
function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  expect(png.subarray(0, 8)).to.deep.equal(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  const chunks = [];
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString("ascii");
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    expect(crc, `${type} CRC`).to.equal(zlibCrc(png.subarray(offset + 4, offset + 8 + length)));
    chunks.push({ type, data });
    offset += 12 + length;
  }
  return chunks;
}

function zlibCrc(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function ppm(width: number, height: number, rgb: [number, number, number]): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set(rgb, i * 3);
  return Buffer.concat([Buffer.from(`P6\n# a comment\n${width} ${height}\n255\n`), pixels]);
}

describe("demo mosaic", () => {
  it("encodes RGB pixels as a PNG whose rows decode back unchanged", () => {
    const rgb = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 7);
    const chunks = pngChunks(encodePng(3, 2, rgb));
    expect(chunks.map((c) => c.type)).to.deep.equal(["IHDR", "IDAT", "IEND"]);
    const header = chunks[0]?.data as Buffer;
    expect([header.readUInt32BE(0), header.readUInt32BE(4), header[8], header[9]]).to.deep.equal([
      3, 2, 8, 2,
    ]);
    const raw = inflateSync(chunks[1]?.data as Buffer);
    expect(raw[0]).to.equal(0);
    expect([...raw.subarray(1, 10)]).to.deep.equal([...rgb.subarray(0, 9)]);
    expect([...raw.subarray(11, 20)]).to.deep.equal([...rgb.subarray(9, 18)]);
  });

  it("parses binary PPMs, comments included, and refuses truncated ones", () => {
    const parsed = parsePpm(ppm(2, 1, [1, 2, 3]));
    expect(parsed).to.deep.include({ width: 2, height: 1 });
    expect([...parsed.pixels]).to.deep.equal([1, 2, 3, 1, 2, 3]);
    expect(() => parsePpm(ppm(2, 2, [0, 0, 0]).subarray(0, 30))).to.throw("truncated PPM");
    expect(() => parsePpm(Buffer.from("P3\n1 1\n255\n0 0 0\n"))).to.throw("P6");
  });

  it("places each tile where its note says and leaves missing tiles grey", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "conun-mosaic-"));
    try {
      const colours: [number, number, number][] = [
        [255, 0, 0],
        [0, 255, 0],
      ];
      for (const index of [0, 1]) {
        const tile = path.join(dir, "tasks", String(index));
        await mkdir(tile, { recursive: true });
        await writeFile(path.join(tile, "tile.ppm"), ppm(2, 2, colours[index] ?? [0, 0, 0]));
        await writeFile(
          path.join(tile, "tile.json"),
          JSON.stringify({
            tile: index,
            x: index * 2,
            y: 0,
            width: 2,
            height: 2,
            imageWidth: 6,
            imageHeight: 2,
          }),
        );
      }
      const out = path.join(dir, "picture.png");
      const result = await assembleTiles(path.join(dir, "tasks"), 3, out);
      expect(result).to.deep.equal({ placed: 2, missing: [2], width: 6, height: 2 });
      const raw = inflateSync(pngChunks(await readFile(out))[1]?.data as Buffer);
      const row = [...raw.subarray(1, 1 + 18)];
      expect(row).to.deep.equal([
        255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
