/**
 * Follows a chain through JSON-RPC and runs the subgraph's handlers, as graph-node's block
 * stream does for event handlers:
 *
 * - ranges of blocks are scanned with one `eth_getLogs` for every data source address and
 *   handled topic; only blocks with matching logs are fetched in full (with transactions, in
 *   one JSON-RPC batch) — plus the range's last block, committed empty so that the head
 *   (and `_meta.block`) follows the chain even when nothing happens;
 * - logs run in (block, logIndex) order, each block in its own store block: a handler
 *   failure aborts the block, records an indexing error and stops indexing, as a
 *   deterministic error stops a subgraph on graph-node;
 * - before going on from the stored head, its hash is checked against the node's block of
 *   the same number; on a mismatch (reorg, or a local node reset by evm_revert) the indexer
 *   walks down the blocks it knows to the last one the node still has, reverts the store
 *   to it and indexes again from there;
 * - it resumes from the store's head after a restart, and rides out an RPC outage by
 *   retrying with backoff while keeping the last committed state.
 */

import { sleep } from "../../../sdk/async.ts";
import type { Logger } from "../../../sdk/logger.ts";
import type { SubgraphManifest } from "../manifest.ts";
import { SubgraphHostError } from "../runtime/errors.ts";
import type { EthEvent, EthTransaction } from "../runtime/ethereum.ts";
import type { MappingModule } from "../runtime/mapping-module.ts";
import type { BlockPtr, IndexingStore } from "../store/types.ts";
import { hexToBytes } from "./abi-decode.ts";
import {
  LogRouter,
  type RawBlock,
  type RawLog,
  type RawTransaction,
  toEthBlock,
  toEthTransaction,
} from "./decode.ts";
import { JsonRpcClient } from "./rpc.ts";

export interface IndexerOptions {
  manifest: SubgraphManifest;
  /** One compiled mapping per data source, keyed by data source name. */
  modules: Map<string, MappingModule>;
  store: IndexingStore;
  rpcUrl: string;
  logger: Logger;
  /** Wait between polls once at the head; default 250 ms. */
  pollIntervalMs?: number;
  /** Blocks per eth_getLogs; default 2000. */
  blockRange?: number;
  /** Longest wait between attempts while the RPC is down; default 5 s. */
  maxBackoffMs?: number;
  /** Per JSON-RPC request; default 10 s. */
  rpcTimeoutMs?: number;
}

/**
 * Optional store capability (SqliteStore has it): let many blocks share one transaction while
 * catching up. setBatching commits what is pending before it changes the batch size.
 */
interface BatchingStore {
  setBatching(batch: { maxBlocks: number; maxMs: number }): void;
}

function batchingOf(store: IndexingStore): BatchingStore | null {
  return typeof (store as Partial<BatchingStore>).setBatching === "function"
    ? (store as unknown as BatchingStore)
    : null;
}

/** Ranges at least this long are indexed in one store transaction. */
const CATCH_UP_BLOCKS = 16;

export type IndexerState =
  | "idle"
  | "syncing"
  | "synced"
  | "rpc-unavailable"
  | "retrying"
  | "failed"
  | "stopped";

export interface IndexerStats {
  blocksProcessed: number;
  eventsProcessed: number;
  reorgs: number;
  /** Calls per `<data source>.<handler>`. */
  handlerCalls: Map<string, number>;
}

interface Waiter {
  block: number;
  resolve(): void;
  reject(error: unknown): void;
}

const FULL_BLOCKS_PER_BATCH = 50;

const hex = (n: number) => `0x${n.toString(16)}`;

export class Indexer {
  readonly #options: IndexerOptions;
  readonly #store: IndexingStore;
  readonly #router: LogRouter;
  readonly #rpc: JsonRpcClient;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #startBlock: number;
  #loop: Promise<void> | null = null;
  #waiters: Waiter[] = [];
  #state: IndexerState = "idle";
  #failure: Error | null = null;
  /** Blocks per eth_getLogs: halved when a node refuses a range, grown back after successes. */
  #range: number;
  readonly stats: IndexerStats = {
    blocksProcessed: 0,
    eventsProcessed: 0,
    reorgs: 0,
    handlerCalls: new Map(),
  };

  constructor(options: IndexerOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#logger = options.logger.child("indexer");
    this.#router = new LogRouter(options.manifest.dataSources);
    this.#rpc = new JsonRpcClient({
      url: options.rpcUrl,
      logger: this.#logger,
      timeoutMs: options.rpcTimeoutMs,
      signal: this.#abort.signal,
    });
    this.#startBlock = Math.min(...options.manifest.dataSources.map((ds) => ds.startBlock));
    this.#range = options.blockRange ?? 2000;
  }

  get state(): IndexerState {
    return this.#state;
  }

  /** The error that stopped indexing, if a handler failed. */
  get failure(): Error | null {
    return this.#failure;
  }

  start(): void {
    if (this.#loop !== null) return;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort(new SubgraphHostError("stopped", "indexer stopped"));
    await this.#loop;
    this.#state = this.#state === "failed" ? "failed" : "stopped";
    this.#rejectWaiters(
      new SubgraphHostError("stopped", "indexer stopped before reaching the block"),
    );
  }

  /** Resolves once block `number` (or a later one) is committed. */
  waitForBlock(number: number, timeoutMs = 30_000): Promise<void> {
    if ((this.#store.head()?.number ?? -1) >= number) return Promise.resolve();
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { block: number, resolve, reject };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new SubgraphHostError("timeout", `block ${number} not indexed within ${timeoutMs} ms`, {
            details: { head: this.#store.head()?.number ?? null, state: this.#state },
          }),
        );
      }, timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      waiter.reject = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      this.#waiters.push(waiter);
    });
  }

  #notify(): void {
    const head = this.#store.head()?.number ?? -1;
    const ready = this.#waiters.filter((w) => w.block <= head);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.block > head);
    for (const w of ready) w.resolve();
  }

  #rejectWaiters(error: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const progressed = await this.#step();
        if (failures > 0) this.#logger.info("indexing resumed", { url: this.#rpc.url });
        failures = 0;
        if (!progressed) {
          this.#state = "synced";
          await sleep(this.#options.pollIntervalMs ?? 250, signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof SubgraphHostError && error.code === "mapping-failed") {
          this.#state = "failed";
          this.#failure = error;
          this.#logger.error("subgraph failed; indexing stopped", { error: error.message });
          this.#rejectWaiters(error);
          return;
        }
        if (error instanceof SubgraphHostError && error.code === "chain-moved") {
          // A reorg between fetching logs and blocks: the next pass checks the head and rewinds.
          this.#logger.info("chain moved while indexing; checking again", {
            reason: error.message,
          });
          await sleep(50, signal).catch(() => {});
          continue;
        }
        failures += 1;
        const rpcDown = error instanceof SubgraphHostError && error.code === "rpc-failed";
        this.#state = rpcDown ? "rpc-unavailable" : "retrying";
        const delay = Math.min(
          this.#options.maxBackoffMs ?? 5_000,
          100 * 2 ** Math.min(failures, 10),
        );
        this.#logger.warn("indexing step failed; retrying", {
          error: error instanceof Error ? error.message : String(error),
          attempt: failures,
          delayMs: delay,
        });
        await sleep(delay, signal).catch(() => {});
      }
    }
  }

  /** One pass: check the head for a reorg, index up to one range. True if work was done. */
  async #step(): Promise<boolean> {
    const head = this.#store.head();
    // One round trip per poll: the chain's height and the node's view of our head block.
    const [height, nodeHead] = await this.#rpc.batch<unknown>([
      { method: "eth_blockNumber", params: [] },
      ...(head === null
        ? []
        : [{ method: "eth_getBlockByNumber", params: [hex(head.number), false] }]),
    ]);
    const chainHead = Number(height as string);
    if (head !== null && (nodeHead as RawBlock | null)?.hash.toLowerCase() !== head.hash) {
      await this.#rewind(head);
      return true;
    }
    const from = head === null ? this.#startBlock : head.number + 1;
    if (from > chainHead) return false;
    this.#state = "syncing";
    const to = Math.min(chainHead, from + this.#range - 1);
    const batching = to - from + 1 >= CATCH_UP_BLOCKS ? batchingOf(this.#store) : null;
    batching?.setBatching({ maxBlocks: Number.MAX_SAFE_INTEGER, maxMs: 0 });
    try {
      await this.#indexRange(from, to, head);
    } finally {
      // Back to one durable transaction per block (this commits the batch).
      batching?.setBatching({ maxBlocks: 1, maxMs: 0 });
    }
    return true;
  }

  async #rewind(head: BlockPtr): Promise<void> {
    this.stats.reorgs += 1;
    let forkPoint = this.#startBlock - 1;
    // Compare, from the top down, the blocks the store knows with the node's, a batch at a time.
    let n = head.number - 1;
    search: while (n >= this.#startBlock) {
      const known: { number: number; hash: string }[] = [];
      while (n >= this.#startBlock && known.length < FULL_BLOCKS_PER_BATCH) {
        const hash = this.#store.blockHash(n);
        if (hash !== null) known.push({ number: n, hash });
        n -= 1;
      }
      const nodeBlocks = await this.#rpc.batch<RawBlock | null>(
        known.map((k) => ({ method: "eth_getBlockByNumber", params: [hex(k.number), false] })),
      );
      for (let i = 0; i < known.length; i++) {
        const k = known[i] as { number: number; hash: string };
        if (nodeBlocks[i]?.hash.toLowerCase() === k.hash) {
          forkPoint = k.number;
          break search;
        }
      }
    }
    this.#logger.warn("chain rewound; reverting to the fork point", {
      from: head.number,
      to: forkPoint,
    });
    this.#store.revertTo(forkPoint);
  }

  async #indexRange(from: number, to: number, head: BlockPtr | null): Promise<void> {
    let logs: RawLog[];
    try {
      logs = await this.#rpc.call<RawLog[]>("eth_getLogs", [
        {
          fromBlock: hex(from),
          toBlock: hex(to),
          address: this.#router.addresses,
          topics: [this.#router.topics],
        },
      ]);
    } catch (error) {
      // Hosted nodes cap eth_getLogs (blocks per query, results per response) and answer with
      // a JSON-RPC error: ask for less rather than retrying the same range forever.
      const refused = error instanceof SubgraphHostError && error.details.code !== undefined;
      if (!refused || to === from) throw error;
      this.#range = Math.max(1, Math.floor((to - from + 1) / 2));
      this.#logger.info("node refused the log range; narrowing it", {
        from,
        to,
        range: this.#range,
        error: error.message,
      });
      return;
    }
    const configured = this.#options.blockRange ?? 2000;
    if (this.#range < configured) this.#range = Math.min(configured, this.#range * 2);
    const byBlock = new Map<number, RawLog[]>();
    for (const log of logs) {
      if (log.removed === true) continue;
      const number = Number(log.blockNumber);
      const list = byBlock.get(number);
      if (list === undefined) byBlock.set(number, [log]);
      else list.push(log);
    }
    const numbers = [...byBlock.keys()].sort((a, b) => a - b);
    if (numbers.at(-1) !== to) numbers.push(to);
    let parent = head;
    const chunks: number[][] = [];
    for (let i = 0; i < numbers.length; i += FULL_BLOCKS_PER_BATCH) {
      chunks.push(numbers.slice(i, i + FULL_BLOCKS_PER_BATCH));
    }
    const fetchChunk = (chunk: number[]) => {
      const request = this.#rpc.batch<RawBlock | null>(
        chunk.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), byBlock.has(n)] })),
      );
      // Awaited below; this only keeps a failed prefetch from being an unhandled rejection.
      request.catch(() => {});
      return request;
    };
    let waitMs = 0;
    let processMs = 0;
    // The next chunk downloads while this one's handlers run.
    let next = chunks.length > 0 ? fetchChunk(chunks[0] as number[]) : null;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c] as number[];
      const waitStarted = performance.now();
      const blocks = await (next as Promise<(RawBlock | null)[]>);
      waitMs += performance.now() - waitStarted;
      next = c + 1 < chunks.length ? fetchChunk(chunks[c + 1] as number[]) : null;
      const processStarted = performance.now();
      for (let j = 0; j < chunk.length; j++) {
        const number = chunk[j] as number;
        const raw = blocks[j];
        // The chain moved under us (rewind while fetching): start over from the stored head.
        if (raw === null || raw === undefined)
          throw new SubgraphHostError("chain-moved", `block ${number} vanished`);
        const blockLogs = byBlock.get(number) ?? [];
        if (blockLogs.some((log) => log.blockHash.toLowerCase() !== raw.hash.toLowerCase())) {
          throw new SubgraphHostError(
            "chain-moved",
            `logs of block ${number} belong to another fork`,
          );
        }
        if (
          parent !== null &&
          parent.number === number - 1 &&
          raw.parentHash.toLowerCase() !== parent.hash
        ) {
          throw new SubgraphHostError(
            "chain-moved",
            `block ${number} does not extend the stored head`,
          );
        }
        this.#processBlock(raw, blockLogs);
        parent = this.#store.head();
      }
      processMs += performance.now() - processStarted;
    }
    // While catching up, one line per range shows progress; at the head it would be noise.
    const report = to - from + 1 >= CATCH_UP_BLOCKS ? this.#logger.info : this.#logger.debug;
    report("range indexed", {
      from,
      to,
      logs: logs.length,
      blocks: numbers.length,
      waitMs: Math.round(waitMs),
      processMs: Math.round(processMs),
    });
  }

  #processBlock(raw: RawBlock, logs: RawLog[]): void {
    const block: BlockPtr = {
      number: Number(raw.number),
      hash: raw.hash.toLowerCase(),
      timestamp: Number(raw.timestamp),
    };
    const store = this.#store;
    store.beginBlock(block);
    let current: { route: string; log: RawLog } | null = null;
    try {
      if (logs.length > 0) {
        logs.sort((a, b) => Number(a.logIndex) - Number(b.logIndex));
        const ethBlock = toEthBlock(raw);
        const transactions = new Map<string, EthTransaction>();
        for (const tx of raw.transactions) {
          if (typeof tx !== "string")
            transactions.set(tx.hash.toLowerCase(), toEthTransaction(tx as RawTransaction));
        }
        for (const log of logs) {
          for (const route of this.#router.routes(log, block.number)) {
            current = { route: `${route.dataSource.name}.${route.handler}`, log };
            const transaction = transactions.get(log.transactionHash.toLowerCase());
            if (transaction === undefined) {
              throw new SubgraphHostError(
                "chain-moved",
                `transaction ${log.transactionHash} not in block ${block.number}`,
              );
            }
            const logIndex = BigInt(log.logIndex);
            const event: EthEvent = {
              address: hexToBytes(log.address),
              logIndex,
              // Standard JSON-RPC has no per-transaction log index; graph-node falls back too.
              transactionLogIndex: logIndex,
              logType: null,
              block: ethBlock,
              transaction,
              params: this.#router.decode(route, log),
            };
            const module = this.#options.modules.get(route.dataSource.name) as MappingModule;
            module.handleEvent(route.handler, event, store);
            this.stats.eventsProcessed += 1;
            this.stats.handlerCalls.set(
              current.route,
              (this.stats.handlerCalls.get(current.route) ?? 0) + 1,
            );
          }
        }
      }
      store.commitBlock();
    } catch (error) {
      store.abortBlock();
      if (error instanceof SubgraphHostError && error.code === "mapping-failed") {
        const where =
          current === null ? "" : ` (${current.route}, log ${Number(current.log.logIndex)})`;
        const message = `${error.message}${where} in block ${block.number} ${block.hash}`;
        store.recordIndexingError(block, message);
        throw new SubgraphHostError("mapping-failed", message, {
          cause: error,
          details: error.details,
        });
      }
      throw error;
    }
    this.stats.blocksProcessed += 1;
    this.#notify();
  }
}
