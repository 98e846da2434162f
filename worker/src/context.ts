// Everything the worker's parts share, built once at start-up and passed in.
import type Docker from "dockerode";
import type { BaseWallet, JsonRpcProvider } from "ethers";
import { formatConun as formatConunWei } from "../../sdk/chain/diagnose.ts";
import type { ProtocolContracts, TxSender } from "../../sdk/chain/index.ts";
import { openContentStore, openIpfsContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import type { Logger } from "../../sdk/logger.ts";
import type { PricingStrategy } from "./bidding/pricing.ts";
import type { WorkerConfig } from "./config/index.ts";
import type { OutputBound } from "./execution/index.ts";
import type { WorkerHooks } from "./hooks.ts";
import type { JobState, Journal, JournalEvent } from "./journal/index.ts";
import type { WorkerMetrics } from "./metrics/metrics.ts";

export interface WorkerContext {
  config: WorkerConfig;
  log: Logger;
  provider: JsonRpcProvider;
  wallet: BaseWallet;
  address: string;
  contracts: ProtocolContracts;
  /** Block from which the protocol's logs exist. */
  startBlock: number;
  sender: TxSender;
  journal: Journal;
  /** The journal folded by job id, kept current by `record`. */
  jobs: Map<string, JobState>;
  store: ContentStore;
  docker: Docker;
  metrics: WorkerMetrics;
  /** The bidding strategy: the price to ask for a job, or why not to bid. */
  pricing: PricingStrategy;
  /** Capabilities offered (registered on chain). */
  offer: { cpuMillicores: number; memoryMiB: number; gpuCount: number; slots: number };
  slots: Semaphore;
  /** How task outputs are held to their caps on this machine (limits.outputQuota, probed). */
  outputBound: OutputBound;
  /** Aborted on shutdown: running tasks stop, no new work starts. */
  shutdown: AbortSignal;
  /** Seams a caller may set at start-up (none in production); see hooks.ts. */
  hooks?: WorkerHooks;
  /** Journals an event durably and folds it into `jobs`. */
  record(event: JournalEvent): Promise<void>;
}

/**
 * An amount of CONUN for people to read (logs, status): `0.144 CONUN`, never wei. The one
 * formatter (sdk/chain/diagnose.ts); the journal's decimal strings of wei are accepted too.
 */
export function formatConun(wei: bigint | string): string {
  return formatConunWei(BigInt(wei));
}

/**
 * Opens the content store the configuration names. An IPFS store logs through the worker's
 * logger and announces the addresses it listens on, which requesters need to fetch results.
 */
export async function openWorkerStore(
  config: Pick<WorkerConfig, "contentStore">,
  log: Logger,
): Promise<ContentStore> {
  const options = config.contentStore;
  if (options.kind !== "ipfs") return openContentStore(options);
  const store = await openIpfsContentStore({ ...options, log });
  log.child("content").info("content store is an IPFS node", {
    listening: store.multiaddrs(),
    peers: options.peers ?? [],
  });
  return store;
}

/** Bounds how many tasks run at once across all jobs. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async use<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = this.#waiting.indexOf(wake);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal?.reason);
        };
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        this.#waiting.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
