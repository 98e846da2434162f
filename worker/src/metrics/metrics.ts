// The worker's Prometheus metrics, served on loopback only: what a provider watches to know
// the worker bids, runs, gets paid, and keeps its journal current.
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";

export interface WorkerMetrics {
  registry: Registry;
  bids: Counter<"outcome">;
  tasks: Counter<"status">;
  txSent: Counter<"action">;
  txFailed: Counter<"action">;
  txRetries: Counter<"action">;
  earningsWei: Counter;
  activeJobs: Gauge;
  journalLagSeconds: Gauge;
  chainLagBlocks: Gauge;
  stakeWei: Gauge;
}

export function createMetrics(): WorkerMetrics {
  const registry = new Registry();
  const make = {
    counter: <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers: [registry] }),
    gauge: (name: string, help: string) => new Gauge({ name, help, registers: [registry] }),
  };
  return {
    registry,
    bids: make.counter("conun_worker_bids_total", "Bids placed or skipped, by outcome", [
      "outcome",
    ]),
    tasks: make.counter("conun_worker_tasks_total", "Tasks run, by final status", ["status"]),
    txSent: make.counter("conun_worker_tx_sent_total", "Transactions broadcast, by action", [
      "action",
    ]),
    txFailed: make.counter("conun_worker_tx_failed_total", "Transactions that failed for good", [
      "action",
    ]),
    txRetries: make.counter("conun_worker_tx_retries_total", "Transaction attempts retried", [
      "action",
    ]),
    earningsWei: make.counter(
      "conun_worker_earnings_wei_total",
      "Payments claimed net of fees, token wei",
    ),
    activeJobs: make.gauge("conun_worker_active_jobs", "Jobs bid on and not yet claimed or closed"),
    journalLagSeconds: make.gauge(
      "conun_worker_journal_lag_seconds",
      "Seconds since the journal was last written durably",
    ),
    chainLagBlocks: make.gauge(
      "conun_worker_chain_lag_blocks",
      "Blocks between the chain head and the last block whose events were processed",
    ),
    stakeWei: make.gauge("conun_worker_stake_wei", "Stake in the registry, token wei"),
  };
}

/** Serves `/metrics` on 127.0.0.1:`port` (0 picks a free port); resolves with the bound port. */
export async function serveMetrics(
  metrics: WorkerMetrics,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404).end("not found\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text);
      },
      () => response.writeHead(500).end("metrics unavailable\n"),
    );
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === "object" && address !== null ? address.port : port };
}
