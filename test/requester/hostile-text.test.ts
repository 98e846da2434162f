// Issue 14's terminal injection: text a job's providers chose reaches the requester's terminal
// escaped. A crafted results bundle whose one entry name (ESC sequences, bidi overrides, CR)
// appears twice is revealed with the winning root on a real chain; conun:results (the task's
// own printResults, under the task's error printer) prints the error it causes as visible
// escapes, on stdout, stderr and the log, and report.json carries none of it raw. A revert
// string does the same through the requester's transaction path.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import { ONE, registerProviders, saltOf } from "../../devnet/protocol.ts";
import { connectRequester, type RequesterContext } from "../../requester/context.ts";
import { runAction } from "../../requester/hardhat/common.ts";
import { printResults } from "../../requester/hardhat/results.ts";
import { postJob } from "../../requester/post.ts";
import { send } from "../../requester/tx.ts";
import { createLogger } from "../../sdk/logger.ts";
import { writeBundle } from "../../sdk/results/index.ts";
import { closeBiddingAfterDeadline, placeBids } from "../helpers/market.ts";
import { controlCharacters } from "../helpers/text.ts";
import {
  freshRequesterFixture,
  type RequesterFixture,
  sourceManifest,
  storeDuplicatedEntryDirectory,
} from "./fixtures.ts";

/** Recolours, retitles the terminal, reverses what follows, returns to column 0, clears. */
const HOSTILE = "\x1b[31mX\x1b]0;owned\x07\u202etxt.exe\r\u2066ok\u009b2J";
/** HOSTILE as it must be shown: every steering character a visible escape. */
const SHOWN = "\\x1b[31mX\\x1b]0;owned\\x07\\u202etxt.exe\\r\\u2066ok\\x9b2J";

interface Printed {
  /** Everything written to stdout, stderr and the requester's log, one entry per line. */
  lines: string[];
  exitCode: typeof process.exitCode;
}

/** Runs `action` under the tasks' error printer, capturing what a terminal would show. */
async function printedBy(log: string[], action: () => Promise<void>): Promise<Printed> {
  const lines: string[] = [];
  const { log: originalLog, error: originalError } = console;
  const previousExitCode = process.exitCode;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  let exitCode: typeof process.exitCode;
  try {
    await runAction(action);
    exitCode = process.exitCode;
  } finally {
    console.log = originalLog;
    console.error = originalError;
    process.exitCode = previousExitCode;
  }
  return { lines: [...lines, ...log], exitCode };
}

describe("conun:results and the requester's errors show hostile text escaped", () => {
  let f: RequesterFixture;
  let providers: HardhatEthersSigner[];
  let ctx: RequesterContext;
  let log: string[];

  beforeEach(async () => {
    f = await freshRequesterFixture();
    providers = f.p.providers.slice(0, 3);
    await registerProviders(f.p, providers);
    log = [];
    // The tasks' own logger (warn and up, human lines), written where the test can read it.
    ctx = await connectRequester({
      signer: f.requester,
      store: f.store,
      deployment: f.deployment,
      log: createLogger({ level: "warn", write: (line) => log.push(line) }),
    });
  });
  afterEach(() => f.cleanup());

  /**
   * Posts the two-task job; the three providers compute the same output, but the first two
   * (the quorum) reveal the winning root with `hostileCid` and the third commits another root:
   * the only bundle with the winning root is the hostile one.
   */
  async function finalizeWithHostileBundle(hostileCid: string): Promise<bigint> {
    const { jobId } = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    await placeBids(
      f.p,
      jobId,
      providers.map((provider) => ({ provider, price: ONE, capacity: 2 })),
    );
    await closeBiddingAfterDeadline(f.connection, f.p, jobId);
    const out = path.join(f.dir, "output");
    await mkdir(out);
    await writeFile(path.join(out, "result.txt"), "same\n");
    const reveals: { provider: HardhatEthersSigner; root: string }[] = [];
    for (const [i, provider] of providers.entries()) {
      const [assignment] = await f.p.market.assignmentsOf(jobId, provider.address);
      if (assignment === undefined) throw new Error("provider won nothing");
      const { root: honest } = await writeBundle({
        bundleDir: path.join(f.dir, `bundle-${i}`),
        jobId,
        groupId: assignment.groupId,
        provider: provider.address,
        tasks: [0, 1].map((index) => ({ index, status: "succeeded" as const, outputDir: out })),
      });
      const root = i === 2 ? keccak256(honest) : honest;
      const salt = saltOf(f.connection, provider.address);
      const commitment = await f.p.market.commitmentFor(
        jobId,
        assignment.groupId,
        provider.address,
        root,
        salt,
      );
      await f.p.market.connect(provider).commit(jobId, [commitment]);
      reveals.push({ provider, root });
    }
    for (const { provider, root } of reveals) {
      await f.p.market
        .connect(provider)
        .reveal(jobId, [root], saltOf(f.connection, provider.address), hostileCid);
    }
    await f.p.market.finalize(jobId);
    return jobId;
  }

  it("prints the duplicated entry name of a crafted bundle as escapes, nowhere raw", async () => {
    const jobId = await finalizeWithHostileBundle(
      await storeDuplicatedEntryDirectory(path.join(f.dir, "store"), HOSTILE),
    );
    const outDir = path.join(f.dir, "results");

    const printed = await printedBy(log, () => printResults(ctx, jobId, outDir));

    expect(printed.exitCode).to.equal(1);
    for (const line of printed.lines) expect(controlCharacters(line), line).to.deep.equal([]);
    const tasks = printed.lines.filter((line) => /^ {2}task \d: unverified — /.test(line));
    expect(tasks).to.have.length(2);
    for (const line of tasks) expect(line).to.contain(`duplicate entry ${SHOWN}`);
    // The log's warning about the unusable bundle quotes it as a JSON string, escaped too.
    expect(log.join("\n")).to.contain("results bundle unusable");
    expect(log.join("\n")).to.contain(
      "duplicate entry \\u001b[31mX\\u001b]0;owned\\u0007\\u202etxt.exe\\r\\u2066ok\\u009b2J",
    );
    // report.json is read by scripts and cat to terminals: it means the same text, shown safely.
    const reportText = await readFile(path.join(outDir, "report.json"), "utf8");
    expect(controlCharacters(reportText, { multiline: true })).to.deep.equal([]);
    const report = JSON.parse(reportText);
    expect(report.tasks[0].reason).to.contain(`duplicate entry ${HOSTILE}`);
  });

  it("prints a revert's reason string escaped in the task's one-line error", async () => {
    // What a hostile or broken node can put in revert data: an Error(string) of its choice.
    const data = `0x08c379a0${AbiCoder.defaultAbiCoder().encode(["string"], [HOSTILE]).slice(2)}`;
    const printed = await printedBy(log, () =>
      send(ctx, "cancelling job 1", async () => {
        throw Object.assign(new Error("execution reverted"), { data });
      }).then(() => undefined),
    );
    expect(printed.exitCode).to.equal(1);
    expect(printed.lines).to.deep.equal([
      `error: cancelling job 1 failed: the contract refused it (${SHOWN}) [Error] [transaction-reverted]`,
    ]);
  });
});
