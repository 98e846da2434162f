// What this machine can offer: CPU and memory from the OS, GPUs from nvidia-smi when it is
// installed (absent or failing means none).
import { execFile } from "node:child_process";
import os from "node:os";

export interface MachineCapabilities {
  cpuMillicores: number;
  memoryMiB: number;
  gpuCount: number;
  gpuNames: string[];
}

export async function detectGpus(timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(
      "nvidia-smi",
      ["--query-gpu=name", "--format=csv,noheader"],
      { timeout: timeoutMs },
      (error, stdout) => {
        if (error) return resolve([]);
        resolve(
          stdout
            .split("\n")
            .map((line) => line.trim())
            .filter(Boolean),
        );
      },
    );
  });
}

export async function detectMachine(): Promise<MachineCapabilities> {
  const gpuNames = await detectGpus();
  return {
    cpuMillicores: os.availableParallelism() * 1000,
    memoryMiB: Math.floor(os.totalmem() / 1024 / 1024),
    gpuCount: gpuNames.length,
    gpuNames,
  };
}
