// `conun-worker` with a fault injected, for the tests and the demo's cheater:
//   node worker/src/testing/faulty-worker.ts --fault <mode> run --config <file> [flags]
// The same command line as worker/src/cli.ts after `--fault <mode>` (FAULTS in faults.ts);
// orchestrators build it with workerArgv (argv.ts).
// It refuses every chain but the local one: a fault is a way to lose stake on purpose.
import { realpathSync } from "node:fs";
import { exitWith, main } from "../cli.ts";
import { ConfigError } from "../config/index.ts";
import { FAULT_CHAIN_ID, FAULTS, faultHooks, isFault } from "./faults.ts";

async function faulty(argv: string[]): Promise<number> {
  const [flag, fault, ...rest] = argv;
  if (flag !== "--fault" || fault === undefined || !isFault(fault)) {
    process.stderr.write(
      `usage: faulty-worker.ts --fault <${FAULTS.join("|")}> <run|status> [conun-worker options]\n`,
    );
    return 2;
  }
  return main(rest, {
    hooksFor: (config, log) => {
      if (config.chainId !== FAULT_CHAIN_ID) {
        throw new ConfigError([
          `--fault: is a test-only option, refused on chains other than ${FAULT_CHAIN_ID}`,
        ]);
      }
      if (fault !== "none") log.warn("running with a test-only fault", { fault });
      return faultHooks(fault, log.child("fault"));
    },
  });
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === import.meta.filename) {
  exitWith(faulty(process.argv.slice(2)));
}
