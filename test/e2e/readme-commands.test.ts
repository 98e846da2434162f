// The README's commands are the contract: started as a new user would (`npm run demo -- --keep`
// in one terminal, the README's requester and auditor commands in another, nothing exported),
// a job posted with them finalizes with verified results, and the auditor's reports come from
// the demo's subgraph. The commands are read from README.md itself, so they cannot drift.
//
// Port 8545 is held by this test first: the demo must move its chain elsewhere and the tools
// must still find it, through the demo's devnet record (sdk/devnet.ts) alone. Then the demo is
// stopped by a SIGINT to npm alone (`kill -INT`; Ctrl-C signals the whole group, which is the
// easier case): every process it started must end, its last line say so, its record be gone.
//
// Needs Docker (the providers run the job in containers) and a free hand on this checkout's
// .conun/ (one demo at a time).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { REPO } from "../../devnet/chain.ts";
import { type DevnetRecord, devnetFile, readDevnet } from "../../sdk/devnet.ts";
import { spawnCollecting } from "../helpers/process.ts";

/** A development account that is neither the deployer nor a demo provider. */
const FAUCET_TO = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

/** The ```sh block that follows `heading` in README.md, one command per line, comments cut. */
function readmeCommands(heading: string): string[] {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (block?.[1] === undefined) throw new Error(`no sh block under "${heading}" in README.md`);
  return block[1]
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** The README line that runs `name` (e.g. "conun:post", "audit -- job"). */
function command(lines: string[], name: string): string {
  const line = lines.find((l) => l.includes(`${name} `) || l.endsWith(name));
  if (line === undefined) throw new Error(`README.md has no \`${name}\` command`);
  return line;
}

/** The environment a new terminal has: this one's, without any CONUN_* setting. */
function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("CONUN_")),
  );
}

interface Run {
  code: number;
  output: string;
}

/** Runs one README line through the shell, exactly as typed, in the repository. */
function shell(line: string, timeoutMs = 5 * 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", line],
      { cwd: REPO, env: plainEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined,
  context: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out waiting for ${what}:\n${context().slice(-4000)}`);
}

/** The last lines of each demo worker's log. */
function workerLogTails(): string {
  const dir = path.join(REPO, ".conun/demo/run/workers");
  if (!existsSync(dir)) return "(no worker logs)";
  return readdirSync(dir)
    .map((name) => {
      const file = path.join(dir, name, "worker.log");
      const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
      return `--- ${name}\n${lines.slice(-15).join("\n")}`;
    })
    .join("\n");
}

/** Parent PID of each running process (from /proc/<pid>/stat). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return map;
}

/** Every running descendant of `pid`. */
function descendantsOf(pid: number): number[] {
  const parent = parents();
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = [...parent].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...next);
    frontier = next;
  }
  return found;
}

function isRunning(pid: number): boolean {
  try {
    // A zombie has exited; only its parent has not collected it yet.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Holds 127.0.0.1:8545 (or finds it already held by someone else: just as good). */
async function hold8545(): Promise<net.Server | undefined> {
  const server = net.createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(undefined) : reject(error),
    );
    server.listen(8545, "127.0.0.1", () => resolve(server));
  });
}

describe("README commands against `npm run demo -- --keep`", function () {
  this.timeout(20 * 60_000);

  const requester = readmeCommands("### Requesters");
  const auditor = readmeCommands("### Auditors").filter((l) => l.startsWith("npm run audit"));
  let demo: ChildProcess | undefined;
  let demoOutput = "";
  let blocker: net.Server | undefined;
  let record: DevnetRecord;
  let outDir: string;
  let jobId: string;

  before(async function () {
    this.timeout(15 * 60_000);
    const running = readDevnet();
    if (running !== undefined) {
      throw new Error(
        `a demo is already running in this checkout (pid ${running.pid}): stop it first`,
      );
    }
    outDir = await mkdtemp(path.join(tmpdir(), "conun-readme-"));
    blocker = await hold8545();
    // Its own process group, as in a terminal: Ctrl-C there signals the whole group.
    demo = spawn("npm", ["run", "demo", "--", "--keep"], {
      cwd: REPO,
      env: plainEnv(),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      demoOutput += chunk.toString();
    };
    demo.stdout?.on("data", collect);
    demo.stderr?.on("data", collect);
    record = await waitFor(
      "the demo to finish its own job and keep running",
      14 * 60_000,
      () => {
        if (demo?.exitCode !== null)
          throw new Error(`the demo exited:\n${demoOutput.slice(-4000)}`);
        return demoOutput.includes("Everything is still running") ? readDevnet() : undefined;
      },
      () => demoOutput,
    );
  });

  after(async () => {
    if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise((resolve) => demo?.once("exit", resolve));
      process.kill(-demo.pid, "SIGINT");
      const timer = setTimeout(() => {
        if (demo?.pid !== undefined) process.kill(-demo.pid, "SIGKILL");
      }, 60_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("finds 8545 taken and runs the demo's chain on another port, recorded for the tools", () => {
    const port = Number(new URL(record.rpcUrl).port);
    expect(port).to.not.equal(8545);
    expect(record.pid).to.be.a("number");
    expect(record.contentDir).to.equal(path.join(REPO, ".conun/demo/content"));
    expect(demoOutput).to.contain(`chain ${record.rpcUrl}`);
    expect(demoOutput).to.contain("no export needed");
  });

  it("sends tokens with the README's faucet command", async () => {
    const run = await shell(command(requester, "conun:faucet").replace("<address>", FAUCET_TO));
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.contain(FAUCET_TO);
  });

  it("posts the demo's job with the README's command, as written", async () => {
    const run = await shell(command(requester, "conun:post"));
    expect(run.code, run.output).to.equal(0);
    const posted = /job (\d+) posted/.exec(run.output);
    expect(posted, run.output).to.not.equal(null);
    jobId = posted?.[1] ?? "";
    // The demo's own job was job 1: this one is the README's.
    expect(Number(jobId)).to.be.greaterThan(1);
  });

  /** A README line for this job: its `--job <id>` is the id conun:post printed. */
  const forJob = (line: string) => line.replace(/--job \S+/, `--job ${jobId}`);

  it("watches it until it finalizes, and hints at results on the same network", async () => {
    const run = await shell(forJob(command(requester, "conun:watch")));
    // On failure, what the providers saw too: the job's side alone rarely says why.
    const context = `${run.output}\n${workerLogTails()}`;
    expect(run.code, context).to.equal(0);
    expect(run.output, context).to.contain(`job ${jobId} ended Finalized`);
    expect(run.output).to.contain(
      `npx hardhat conun:results --job ${jobId} --out results-${jobId} --network localhost`,
    );
  });

  it("fetches the results, every task verified against the chain", async () => {
    const line = forJob(command(requester, "conun:results")).replace(
      /--out \S+/,
      `--out ${outDir}`,
    );
    const run = await shell(line);
    expect(run.code, run.output).to.equal(0);
    expect(run.output, run.output).to.contain(`job ${jobId}: 12 verified`);
    expect(readdirSync(path.join(outDir, "tasks"))).to.have.length(12);
  });

  it("shows the job's status", async () => {
    const run = await shell(forJob(command(requester, "conun:status")));
    expect(run.code, run.output).to.equal(0);
    expect(run.output, run.output).to.contain("Finalized");
  });

  it("withdraws the refunds", async () => {
    const run = await shell(command(requester, "conun:withdraw"));
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.match(/withdrew \d[\d,.]* CONUN/);
  });

  it("audits the job, a provider and the network from the demo's subgraph, with no --url", async () => {
    const job = await shell(command(auditor, "audit -- job").replace(/job \S+$/, `job ${jobId}`));
    expect(job.code, job.output).to.equal(0);
    expect(job.output).to.contain(`Subgraph ${record.subgraphUrl}`);
    expect(job.output, job.output).to.contain(`Job ${jobId} — Finalized`);
    for (const name of ["audit -- provider", "audit -- network"]) {
      const run = await shell(command(auditor, name));
      expect(run.code, `${name}: ${run.output}`).to.equal(0);
      expect(run.output).to.contain(`Subgraph ${record.subgraphUrl}`);
    }
  });

  it("serves another dApp on the demo's chain, subgraph and gateway with `npm run app:serve`", async () => {
    // --port 0: the README's default port 5173 may be taken on a shared machine.
    const {
      child: app,
      output: printed,
      exited,
    } = spawnCollecting("npm", ["run", "app:serve", "--", "--port", "0"], {
      cwd: REPO,
      env: plainEnv(),
      detached: true,
    });
    try {
      const url = await waitFor(
        "the app server to print its URL",
        120_000,
        () => {
          if (app.exitCode !== null) throw new Error(`app:serve exited:\n${printed()}`);
          return /CONUN dApp: (http:\/\/\S+)/.exec(printed())?.[1];
        },
        printed,
      );
      const config = (await (
        await fetch(`${url}/config.json`, { signal: AbortSignal.timeout(10_000) })
      ).json()) as {
        chainId: number;
        rpcUrl: string;
        subgraphUrl: string;
        gatewayUrl: string;
        addresses: { market: string };
      };
      expect(config.chainId).to.equal(record.chainId);
      expect(config.rpcUrl).to.equal(record.rpcUrl);
      expect(config.subgraphUrl).to.equal(record.subgraphUrl);
      expect(config.gatewayUrl).to.equal(record.gatewayUrl);
      expect(config.addresses.market).to.equal(record.deployment.market);
    } finally {
      if (app.pid !== undefined && app.exitCode === null) process.kill(-app.pid, "SIGINT");
      await exited;
    }
  });

  it("refuses a second demo in the same checkout, naming the running one", async () => {
    const run = await shell("npm run demo");
    expect(run.code, run.output).to.equal(1);
    expect(run.output).to.contain(`another demo is running (pid ${record.pid}`);
    expect(run.output).to.contain("[demo-running]");
    expect(readDevnet()?.pid).to.equal(record.pid);
  });

  it("stops everything on a SIGINT sent to npm alone (`kill -INT`), says so, and removes its record", async () => {
    const child = demo;
    if (child?.pid === undefined) throw new Error("the demo is not running");
    const started = descendantsOf(child.pid);
    // The chain, three workers and the demo itself at least.
    expect(started.length, "processes the demo started").to.be.greaterThan(4);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // npm alone, not its process group: npm forwards the signal to the script, which must reach
    // the demo's own process (the script execs node) for it to stop what it started.
    process.kill(child.pid, "SIGINT");
    await waitFor(
      "the demo to stop",
      90_000,
      () => (child.exitCode !== null || child.signalCode !== null ? true : undefined),
      () => demoOutput,
    );
    await exited;
    expect(demoOutput).to.contain("SIGINT: stopping everything");
    expect(demoOutput.trimEnd().split("\n").at(-1)).to.match(/^Stopped: the chain, .* are down\.$/);
    expect(started.filter(isRunning), "processes still running").to.deep.equal([]);
    expect(existsSync(devnetFile())).to.equal(false);
    expect(readDevnet()).to.equal(undefined);
  });
});
