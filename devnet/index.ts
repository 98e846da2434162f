// The one orchestrator of a local CONUN system: `startDevnet` brings up the pieces a caller
// asks for, as separate processes where the real system has separate machines, and `stop()`
// brings down everything it started, newest first, each by its PID:
//
//   chain      a Hardhat node in its own process, CONUN deployed on it (chain.ts)
//   subgraph   the embedded subgraph host indexing it (subgraph.ts)
//   app        the content gateway and the dApp (app.ts)
//   funding    CONUN from the deployer to the accounts that need it
//   workers    provider daemons, waited for until registered and staked (workers.ts)
//
// Used by `npm run demo`, the end-to-end tests and the benchmarks; the worker cluster
// (cluster.ts) and the dApp's test stack build on the same pieces.
import path from "node:path";
import { type ContentStore, openContentStore } from "../sdk/content/index.ts";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import { type RunningApp, startApp } from "./app.ts";
import { type Chain, fund, type StartChainOptions, startChain } from "./chain.ts";
import { type RunningSubgraph, startSubgraph } from "./subgraph.ts";
import { Teardown } from "./teardown.ts";
import {
  type RunningWorker,
  startWorkers,
  type WorkerSpec,
  waitForWorkersReady,
} from "./workers.ts";

export * from "./app.ts";
export * from "./chain.ts";
export * from "./subgraph.ts";
export * from "./teardown.ts";
export * from "./workers.ts";

/** A piece of the devnet, in the order they start. */
export type DevnetPiece = "chain" | "subgraph" | "app" | "funding" | "workers";

export interface DevnetOptions {
  /** The devnet's folder: the subgraph's store, the workers' homes, the content store. */
  dir: string;
  chain: Omit<StartChainOptions, "log">;
  /** The content store the workers and the gateway share (default `<dir>/content`). */
  contentDir?: string;
  /** Start the embedded subgraph host (its store in `<dir>/subgraph`); the workers use it. */
  subgraph?: boolean;
  /** Serve the dApp and the content gateway (needs `subgraph`). */
  app?: { networkName: string; build?: boolean };
  /** Send each account (development wallet index) `amount` CONUN from the deployer. */
  funding?: { accounts: number[]; amount: string };
  /** Providers to start (their homes in `<dir>/workers`), waited for until staked. */
  workers?: WorkerSpec[];
  /** How long to wait for the workers to register and stake (default 60 s). */
  workersReadyMs?: number;
  /**
   * Where each piece registers its stop as it comes up (default a new one): a caller that must
   * stop everything on a signal during start-up passes its own and runs it.
   */
  teardown?: Teardown;
  /** Told before each piece starts and once it is up, with what is up so far. */
  onProgress?(piece: DevnetPiece, state: "starting" | "started", devnet: Partial<Devnet>): void;
  log?: Logger;
}

export interface Devnet {
  dir: string;
  chain: Chain;
  contentDir: string;
  subgraph?: RunningSubgraph;
  /** The gateway's store (open only when the app is served). */
  store?: ContentStore;
  app?: RunningApp;
  workers: RunningWorker[];
  teardown: Teardown;
  /** Stops everything started, newest first. */
  stop(): Promise<void>;
}

/** Starts the pieces `options` asks for; on a failure, stops what it had started and throws. */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const log = options.log ?? silentLogger;
  const teardown = options.teardown ?? new Teardown();
  const contentDir = options.contentDir ?? path.join(options.dir, "content");
  const up: Partial<Devnet> = { dir: options.dir, contentDir, workers: [], teardown };
  const piece = async <T>(name: DevnetPiece, start: () => Promise<T>): Promise<T> => {
    options.onProgress?.(name, "starting", up);
    const value = await start();
    options.onProgress?.(name, "started", up);
    return value;
  };
  try {
    const chain = await piece("chain", async () => {
      up.chain = await startChain({ ...options.chain, log });
      teardown.add(() => up.chain?.stop() ?? Promise.resolve());
      return up.chain;
    });
    let subgraphUrl: string | undefined;
    if (options.subgraph === true) {
      await piece("subgraph", async () => {
        const subgraph = await startSubgraph(chain, {
          dir: path.join(options.dir, "subgraph"),
          log,
        });
        teardown.add(() => subgraph.stop());
        up.subgraph = subgraph;
        subgraphUrl = subgraph.url;
      });
    }
    const app = options.app;
    if (app !== undefined) {
      await piece("app", async () => {
        if (subgraphUrl === undefined)
          throw new Error("startDevnet: the app needs the subgraph (options.subgraph)");
        const store = await openContentStore({ kind: "local", dir: contentDir });
        teardown.add(() => store.close());
        up.store = store;
        const running = await startApp({
          store,
          chainId: chain.chainId,
          rpcUrl: chain.url,
          deployment: chain.deployment,
          subgraphUrl,
          networkName: app.networkName,
          ...(app.build === undefined ? {} : { build: app.build }),
          log,
        });
        // The app server first, then the gateway: the order the demo always stopped them in.
        teardown.add(() => running.gateway.close());
        teardown.add(() => running.app.close());
        up.app = running;
      });
    }
    const funding = options.funding;
    if (funding !== undefined) {
      await piece("funding", () =>
        fund(
          chain,
          funding.accounts.map((account) => chain.wallets[account]?.address ?? ""),
          funding.amount,
        ),
      );
    }
    const specs = options.workers;
    if (specs !== undefined && specs.length > 0) {
      await piece("workers", async () => {
        const workers = await startWorkers(chain, specs, {
          dir: path.join(options.dir, "workers"),
          contentDir,
          ...(subgraphUrl === undefined ? {} : { subgraphUrl }),
        });
        for (const worker of workers) teardown.add(async () => void (await worker.stop(10_000)));
        up.workers = workers;
        await waitForWorkersReady(chain, workers, options.workersReadyMs);
      });
    }
    return { ...(up as Devnet), chain, stop: () => teardown.run() };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}
