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
