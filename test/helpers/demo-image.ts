// The demo's Mandelbrot image for tests: built once per machine (devnet/image/build.ts caches by
// source hash) and a manifest for a smaller version of the demo job.
import path from "node:path";
import { buildDemoImage, type DemoImage } from "../../devnet/image/build.ts";

export { buildDemoImage, type DemoImage };

/** A source manifest rendering `cols × rows` small tiles of the demo picture. */
export function smallMandelbrotManifest(
  image: DemoImage,
  options: {
    cols?: number;
    rows?: number;
    k?: number;
    quorum?: number;
    biddingSeconds?: number;
  } = {},
): Record<string, unknown> {
  const cols = options.cols ?? 2;
  const rows = options.rows ?? 1;
  return {
    version: 1,
    name: "mandelbrot-tiles-small",
    deterministic: true,
    image: { archive: path.resolve(image.stableArchive) },
    command: [
      "/bin/mandelbrot",
      "--width",
      String(64 * cols),
      "--height",
      String(64 * rows),
      "--cols",
      String(cols),
      "--rows",
      String(rows),
      "--iterations",
      "128",
    ],
    tasks: { count: cols * rows },
    resources: { cpuMillicores: 500, memoryMiB: 64, timeoutSeconds: 30, pids: 16 },
    replication: { k: options.k ?? 3, quorum: options.quorum ?? 2 },
    price: { maxPerTaskReplica: "1", stakePerTaskReplica: "5" },
    windows: {
      biddingSeconds: options.biddingSeconds ?? 4,
      executionSeconds: 300,
      revealSeconds: 120,
    },
  };
}
