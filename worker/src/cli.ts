// conun-worker: the provider daemon's command line.
//   conun-worker init   [--chain …] [--rpc …] [--dir …] [--force]   a keystore and a config
//   conun-worker run    [--config file] [flags]   start the worker (SIGINT/SIGTERM stop it)
//   conun-worker status [--config file] [--json]  balances, stake, slashes, jobs, earnings
// Exit codes: 0 ok (including an orderly shutdown), 1 failure, 2 bad configuration.
import { realpathSync } from "node:fs";
import { parseArgs } from "node:util";
import { describeError, isConunError } from "../../sdk/errors.ts";
import { createLogger, type Logger } from "../../sdk/logger.ts";
import { escapeJsonText, escapeUntrusted } from "../../sdk/text.ts";
import { detectGpus } from "./capacity/machine.ts";
import { ConfigError, loadConfig, SETTINGS, type WorkerConfig } from "./config/index.ts";
import { startWorker } from "./daemon.ts";
import type { WorkerHooks } from "./hooks.ts";
import { DEFAULT_INIT_DIR, formatInit, InitError, initWorker } from "./init.ts";
import { formatStatus, readStatus } from "./status.ts";

const USAGE = `usage: conun-worker <init|run|status> [--config <file.json>] [options]

  init     create an encrypted provider key and a commented config for a chain:
             --chain <localhost|sepolia|chainId>  (default localhost)
             --rpc <url>     the chain's JSON-RPC endpoint (or CONUN_WORKER_RPC_URL)
             --dir <folder>  where to write keystore.json and worker.jsonc (default ${DEFAULT_INIT_DIR})
             --force         replace existing files (they are kept, renamed)
             --import-key-from-env  use the key in CONUN_WORKER_IMPORT_KEY instead of a new one
           password: CONUN_WORKER_KEYSTORE_PASSWORD, or asked on the terminal
  run      start the provider daemon
  status   show balances, stake, slashes, jobs and earnings (--json for machine output)

Options (each also settable in the config file and as an environment variable):
${SETTINGS.filter((s) => s.flag)
  .map((s) => `${`  --${s.flag}`.padEnd(34)}${s.path}  (${s.env})`)
  .join("\n")}
Secrets only from the environment or files: CONUN_WORKER_KEYSTORE_PASSWORD, CONUN_WORKER_DEV_KEY.
See worker/README.md.`;

// Signals are handled from the first instant: a SIGTERM during start-up (connecting,
// registering) stops the worker in order rather than killing it mid-transaction.
const controller = new AbortController();
let stopRequested: string | undefined;
let onStop: (signal: string) => void = () => {};
const stop = (signal: string) => {
  if (controller.signal.aborted) return;
  stopRequested = signal;
  onStop(signal);
  controller.abort(new Error(`received ${signal}`));
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

export interface CliOptions {
  /**
   * Hooks for the daemon, built once the configuration is read (worker/src/hooks.ts); only the
   * fault-injecting entry point (worker/src/testing/faulty-worker.ts) gives any.
   */
  hooksFor?(config: WorkerConfig, log: Logger): WorkerHooks;
}

/** Runs `conun-worker <argv>` and resolves with the exit code. */
export async function main(argv: string[], cli: CliOptions = {}): Promise<number> {
  // init has options of its own and needs no configuration: it writes one.
  if (argv[0] === "init") return init(argv.slice(1));
  const options: Record<string, { type: "string" | "boolean" }> = {
    config: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  };
  for (const setting of SETTINGS) {
    if (setting.flag)
      options[setting.flag] = { type: setting.kind === "bool" ? "boolean" : "string" };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n\n${USAGE}\n`);
    return 2;
  }
  const command = parsed.positionals[0];
  if (parsed.values.help || command === undefined || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (command !== "run" && command !== "status") {
    process.stderr.write(`unknown command ${command}\n\n${USAGE}\n`);
    return 2;
  }
  let config: WorkerConfig;
  try {
    config = await loadConfig({
      ...(typeof parsed.values.config === "string" ? { file: parsed.values.config } : {}),
      env: process.env,
      flags: parsed.values as Record<string, string | boolean | undefined>,
      detectedGpus: (await detectGpus()).length,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`conun-worker: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command === "status") {
    const status = await readStatus(config);
    // A job's note may quote why its manifest or content was refused: the job's own text, shown
    // escaped (sdk/text.ts); the JSON reads the same.
    process.stdout.write(
      parsed.values.json
        ? `${escapeJsonText(JSON.stringify(status, null, 2))}\n`
        : `${escapeUntrusted(formatStatus(status), { multiline: true })}\n`,
    );
    return 0;
  }
  const log = createLogger({ level: config.log.level, json: config.log.json, component: "worker" });
  if (stopRequested !== undefined) {
    log.info("shutdown requested before start", { signal: stopRequested });
    return 0;
  }
  onStop = (signal) => log.info("shutdown requested", { signal });
  try {
    const worker = await startWorker(config, log, controller.signal, cli.hooksFor?.(config, log));
    await worker.done;
    return 0;
  } catch (error) {
    if (controller.signal.aborted) return 0;
    log.error("worker failed", {
      reason: describeError(error),
      ...(isConunError(error) ? { code: error.code } : {}),
    });
    return error instanceof ConfigError ||
      (isConunError(error) && error.code === "chain-id-mismatch")
      ? 2
      : 1;
  }
}

/** `conun-worker init`: its own options (it needs no configuration, it writes one). */
async function init(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        chain: { type: "string" },
        rpc: { type: "string" },
        dir: { type: "string" },
        force: { type: "boolean" },
        "import-key-from-env": { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`conun-worker init: ${describeError(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const result = await initWorker({
      ...(typeof values.chain === "string" ? { chain: values.chain } : {}),
      ...(typeof values.rpc === "string" ? { rpc: values.rpc } : {}),
      ...(typeof values.dir === "string" ? { dir: values.dir } : {}),
      force: values.force === true,
      importKeyFromEnv: values["import-key-from-env"] === true,
      env: process.env,
      ...(process.stdin.isTTY && process.stderr.isTTY ? { askPassword: askNewPassword } : {}),
    });
    process.stdout.write(`${formatInit(result)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof InitError) {
      process.stderr.write(`conun-worker init: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** Asks for a new password twice on the terminal, without echoing it. */
async function askNewPassword(): Promise<string> {
  const first = await askHidden("password for the new keystore: ");
  const second = await askHidden("the same password again: ");
  if (first !== second)
    throw new InitError("init-invalid", "the two passwords differ; run init again");
  return first;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    input.setRawMode(true);
    input.resume();
    let typed = "";
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") return done();
        if (char === "\u0003") return done(new InitError("init-invalid", "cancelled"));
        if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on("data", onData);
  });
}

/** Exits with `run`'s code; a crash is one line on stderr and exit code 1. */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => process.exit(code),
    (error: unknown) => {
      // A crash may quote a revert string or a job's content: escaped (sdk/text.ts).
      process.stderr.write(`conun-worker: ${escapeUntrusted(describeError(error))}\n`);
      process.exit(1);
    },
  );
}

// Run when this file is the program (bin/conun-worker), not when another entry imports it.
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === import.meta.filename) {
  exitWith(main(process.argv.slice(2)));
}
