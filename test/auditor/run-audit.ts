// Runs the auditor CLI (`auditor/cli.ts`) as its own process, the way an auditor does, and
// collects what it printed. Asynchronous, so a server that this test process runs can answer.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const AUDIT = fileURLToPath(new URL("../../auditor/cli.ts", import.meta.url));

export interface AuditRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node auditor/cli.ts ...args`; SUBGRAPH_URL is cleared unless `env` sets it. */
export function audit(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AuditRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--no-warnings", AUDIT, ...args],
      {
        timeout: options.timeoutMs ?? 20_000,
        env: { ...process.env, SUBGRAPH_URL: "", ...options.env },
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}
