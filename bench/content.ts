// Memory of the content store on a large file: adds a 64 MiB file of incompressible bytes,
// streams it back to a slow consumer and exports it, sampling the process's rss every 5 ms.
// The figure is the peak rss growth over the baseline taken just before `addFile`; the store
// reads a few blocks ahead at most (pinned by test/sdk/content.test.ts "back-pressure"), so
// the growth is expected to stay far below the file's size.
//
//   npm run bench:content [-- --mib 64]
//
// Writes bench-results/content.json: { fileBytes, rssGrowthBytes, growthOverSize, seconds }.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { openContentStore } from "../sdk/content/index.ts";

export interface ContentBenchResult {
  fileBytes: number;
  rssGrowthBytes: number;
  growthOverSize: number;
  seconds: number;
}

/** Deterministic incompressible bytes (xorshift), one MiB at a time. */
function pseudoRandomMiB(seed: number): Buffer {
  const out = Buffer.alloc(1024 * 1024);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function benchContent(mib: number): Promise<ContentBenchResult> {
  const work = await mkdtemp(join(tmpdir(), "conun-bench-content-"));
  try {
    const path = join(work, "big.bin");
    const sink = createWriteStream(path);
    const expected = createHash("sha256");
    const block = pseudoRandomMiB(42);
    for (let i = 0; i < mib; i++) {
      block[0] = i; // no two leaves dedupe
      expected.update(block);
      if (!sink.write(Buffer.from(block)))
        await new Promise<void>((r) => sink.once("drain", () => r()));
    }
    sink.end();
    await finished(sink);
    const digest = expected.digest("hex");
    const store = await openContentStore({ kind: "local", dir: join(work, "store") });

    const started = performance.now();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const timer = setInterval(sample, 5);
    const cid = await store.addFile(path);
    const streamed = createHash("sha256");
    let bytes = 0;
    for await (const chunk of store.stream(cid)) {
      streamed.update(chunk);
      bytes += chunk.length;
      sample();
      if (bytes % (8 * 1024 * 1024) === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const out = join(work, "out.bin");
    await store.exportTo(cid, out);
    clearInterval(timer);
    sample();
    const seconds = (performance.now() - started) / 1000;
    if (streamed.digest("hex") !== digest) throw new Error("streamed bytes differ from the file");
    if (
      createHash("sha256")
        .update(await readFile(out))
        .digest("hex") !== digest
    ) {
      throw new Error("exported bytes differ from the file");
    }
    const fileBytes = mib * 1024 * 1024;
    const rssGrowthBytes = Math.max(0, peak - baseline);
    return {
      fileBytes,
      rssGrowthBytes,
      growthOverSize: Number((rssGrowthBytes / fileBytes).toFixed(3)),
      seconds: Number(seconds.toFixed(2)),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const at = args.indexOf("--mib");
const result = await benchContent(at === -1 ? 64 : Number(args[at + 1]));
console.log(
  `content store, ${result.fileBytes / 2 ** 20} MiB file: rss grew by ${(result.rssGrowthBytes / 2 ** 20).toFixed(1)} MiB ` +
    `(${(result.growthOverSize * 100).toFixed(1)}% of the file) in ${result.seconds} s`,
);
await mkdir("bench-results", { recursive: true });
await writeFile("bench-results/content.json", `${JSON.stringify(result, null, 2)}\n`);
