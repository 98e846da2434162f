// conun-worker: the provider daemon's command line.
//   conun-worker run    [--config file] [flags]   start the worker (SIGINT/SIGTERM stop it)
//   conun-worker status [--config file] [--json]  jobs, tasks, earnings, stake
// Exit codes: 0 ok (including an orderly shutdown), 1 failure, 2 bad configuration.
import { parseArgs } from "node:util";
import { describeError, isConunError } from "../../sdk/errors.ts";
import { createLogger } from "../../sdk/logger.ts";
import { detectGpus } from "./capacity/machine.ts";
import { ConfigError, loadConfig, SETTINGS, type WorkerConfig } from "./config/index.ts";
import { startWorker } from "./daemon.ts";
import { formatStatus, readStatus } from "./status.ts";

const USAGE = `usage: conun-worker <run|status> [--config <file.json>] [options]

  run      start the provider daemon
  status   show jobs, tasks, earnings and stake (--json for machine output)

Options (each also settable in the config file and as an environment variable):
${SETTINGS.filter((s) => s.flag)
  .map((s) => `  --${s.flag}`.padEnd(34) + `${s.path}  (${s.env})`)
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

async function main(argv: string[]): Promise<number> {
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
    process.stdout.write(
      parsed.values.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`,
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
    const worker = await startWorker(config, log, controller.signal);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`conun-worker: ${describeError(error)}\n`);
    process.exit(1);
  },
);
