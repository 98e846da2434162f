// Runs before the system tests: they start real containers, so without a Docker engine they
// would fail one by one with socket errors. Say once, up front, what to install or start.
import { checkDocker } from "../demo/system.ts";

try {
  await checkDocker();
} catch (error) {
  console.error(
    `The system tests run real Docker containers, and ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
