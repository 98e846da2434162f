// A child process whose stdout and stderr are collected as one text, for tests that wait on
// what a long-running command (a worker, a server, an npm script) prints.
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

export interface Spawned {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCollecting(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "stdio">,
): Spawned {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/**
 * Runs a command to its end and resolves with its exit code and its stdout and stderr apart
 * (for tools that print results on stdout and warnings on stderr). It is killed after
 * `timeoutMs` (default 120 s), so a hung command fails the test instead of stalling it.
 */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "stdio"> & { timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { timeoutMs = 120_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
