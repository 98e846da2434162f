// Sends a provider's transactions one at a time with its own nonce, and survives what a real
// RPC endpoint does to them: timeouts, dropped connections, "nonce too low" after a restart,
// another transaction taking the nonce. Each attempt first asks the chain whether one of the
// transactions already signed for this request was mined, so a retry never does the work twice.
import {
  type BaseWallet,
  type ContractTransaction,
  isError,
  makeError,
  type Provider,
  Transaction,
  type TransactionReceipt,
} from "ethers";
import { sleep } from "../async.ts";
import type { Logger } from "../logger.ts";
import { ChainError, decodeRevert, formatRevert, isTransientRpcError } from "./errors.ts";

export interface TxSenderOptions {
  /** A wallet connected to the provider the transactions go to. */
  wallet: BaseWallet;
  chainId: bigint;
  logger: Logger;
  /** Attempts per transaction before giving up (default 6). */
  maxAttempts?: number;
  /** How long one attempt waits for the receipt (default 30 s). */
  receiptTimeoutMs?: number;
  /** First pause between attempts; doubles up to 8× (default 500 ms). */
  retryDelayMs?: number;
  /** How often to ask for the receipt (default 250 ms). */
  receiptPollMs?: number;
  /** Gas limit = estimate × (100 + this) / 100 (default 25). */
  gasMarginPercent?: number;
  /** Observes sends, retries and failures (metrics). */
  onEvent?: (event: TxEvent) => void;
}

export interface TxEvent {
  kind: "sent" | "confirmed" | "retry" | "failed";
  label: string;
  hash?: string;
  reason?: string;
}

export interface SendOptions {
  /** Structured context for the logs (jobId …). */
  context?: Record<string, unknown>;
  /**
   * Called with the hash of a newly signed transaction before it is broadcast, so the caller
   * can journal it first; awaited.
   */
  beforeBroadcast?: (hash: string) => Promise<void> | void;
  signal?: AbortSignal;
}

export class TxSender {
  readonly address: string;
  readonly #wallet: BaseWallet;
  readonly #provider: Provider;
  readonly #chainId: bigint;
  readonly #log: Logger;
  readonly #maxAttempts: number;
  readonly #receiptTimeoutMs: number;
  readonly #retryDelayMs: number;
  readonly #gasMargin: bigint;
  readonly #pollMs: number;
  readonly #onEvent: (event: TxEvent) => void;
  #nonce: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TxSenderOptions) {
    const provider = options.wallet.provider;
    if (provider === null) throw new Error("TxSender needs a wallet connected to a provider");
    this.#wallet = options.wallet;
    this.#provider = provider;
    this.address = options.wallet.address;
    this.#chainId = options.chainId;
    this.#log = options.logger;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#receiptTimeoutMs = options.receiptTimeoutMs ?? 30_000;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#gasMargin = BigInt(100 + (options.gasMarginPercent ?? 25));
    this.#pollMs = options.receiptPollMs ?? 250;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Sends `tx` (from `contract.method.populateTransaction(...)`) and resolves with its
   * successful receipt. Rejects with ChainError `tx-reverted` (decoded custom error in
   * `.revert`, never retried), `tx-timeout` or `tx-failed` once the attempts are spent.
   */
  send(
    label: string,
    tx: ContractTransaction,
    options: SendOptions = {},
  ): Promise<TransactionReceipt> {
    const run = this.#queue.then(
      () => this.#send(label, tx, options),
      () => this.#send(label, tx, options),
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  async #send(
    label: string,
    tx: ContractTransaction,
    options: SendOptions,
  ): Promise<TransactionReceipt> {
    const log = this.#log.child("tx", { tx: label, ...options.context });
    const signedHashes: string[] = [];
    let signed: string | undefined;
    let nonce: number | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      options.signal?.throwIfAborted();
      try {
        const mined = await this.#findMined(signedHashes);
        if (mined !== undefined) return this.#settle(label, mined, tx, log);
        if (signed !== undefined && nonce !== undefined) {
          // Our signed transaction is not mined; if its nonce is used up, something else took
          // it (a replacement, or a transaction sent by another process with the same key).
          const used = await this.#provider.getTransactionCount(this.address, "latest");
          if (used > nonce) {
            log.warn("nonce taken by another transaction; re-signing", { nonce });
            signed = undefined;
            this.#nonce = undefined;
          }
        }
        if (signed === undefined) {
          const prepared = await this.#sign(tx);
          signed = prepared.signed;
          nonce = prepared.nonce;
          const hash = Transaction.from(signed).hash as string;
          signedHashes.push(hash);
          await options.beforeBroadcast?.(hash);
        }
        const hash = Transaction.from(signed).hash as string;
        await this.#broadcast(signed);
        if (this.#nonce === nonce) this.#nonce = (nonce as number) + 1;
        this.#onEvent({ kind: "sent", label, hash });
        log.info("transaction sent", { hash, nonce, attempt });
        const receipt = await this.#waitForReceipt(hash, options.signal);
        return this.#settle(label, receipt, tx, log);
      } catch (error) {
        if (error instanceof ChainError && error.code === "tx-reverted") {
          this.#onEvent({ kind: "failed", label, reason: error.revert?.name ?? error.message });
          throw error;
        }
        // Some nodes (Hardhat automining) mine a reverting transaction and still answer the
        // broadcast with an error: whatever the error, a mined transaction is the outcome.
        const mined = await this.#findMined(signedHashes).catch(() => undefined);
        if (mined !== undefined) {
          if (nonce !== undefined && this.#nonce === nonce) this.#nonce = nonce + 1;
          return this.#settle(label, mined, tx, log);
        }
        lastError = error;
        if (isError(error, "NONCE_EXPIRED") || isError(error, "REPLACEMENT_UNDERPRICED")) {
          // Either an earlier attempt of ours did reach the node (checked at the top of the
          // next attempt) or our nonce counter is stale: re-read it from the chain.
          log.warn("nonce conflict; resynchronising", { attempt, reason: shortReason(error) });
          this.#nonce = undefined;
          signed = undefined;
        } else if (isError(error, "TRANSACTION_REPLACED")) {
          const replaced = error as unknown as {
            cancelled?: boolean;
            receipt?: TransactionReceipt;
          };
          if (replaced.cancelled === false && replaced.receipt) {
            return this.#settle(label, replaced.receipt, tx, log);
          }
          this.#nonce = undefined;
          signed = undefined;
        } else if (!isError(error, "TIMEOUT") && !isTransientRpcError(error)) {
          this.#onEvent({ kind: "failed", label, reason: shortReason(error) });
          throw new ChainError("tx-failed", `${label}: ${shortReason(error)}`, { cause: error });
        }
        this.#onEvent({ kind: "retry", label, reason: shortReason(error) });
        log.warn("transaction attempt failed; retrying", { attempt, reason: shortReason(error) });
        await sleep(
          Math.min(this.#retryDelayMs * 2 ** (attempt - 1), this.#retryDelayMs * 8),
          options.signal,
        );
      }
    }
    this.#onEvent({ kind: "failed", label, reason: shortReason(lastError) });
    const timeout = isError(lastError, "TIMEOUT");
    throw new ChainError(
      timeout ? "tx-timeout" : "tx-failed",
      `${label}: gave up after ${this.#maxAttempts} attempts: ${shortReason(lastError)}`,
      { cause: lastError },
    );
  }

  /**
   * Polls for the receipt until `receiptTimeoutMs`. (ethers' waitForTransaction compares with
   * a cached block number and can miss a transaction mined in the last block.)
   */
  async #waitForReceipt(hash: string, signal?: AbortSignal): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.#receiptTimeoutMs;
    for (;;) {
      const receipt = await this.#provider.getTransactionReceipt(hash);
      if (receipt !== null) return receipt;
      if (Date.now() >= deadline) {
        throw makeError(`no receipt for ${hash} after ${this.#receiptTimeoutMs} ms`, "TIMEOUT", {
          operation: "waitForReceipt",
          reason: "timeout",
        });
      }
      await sleep(Math.min(this.#pollMs, Math.max(0, deadline - Date.now())), signal);
    }
  }

  async #findMined(hashes: string[]): Promise<TransactionReceipt | undefined> {
    for (const hash of hashes) {
      const receipt = await this.#provider.getTransactionReceipt(hash);
      if (receipt !== null) return receipt;
    }
    return undefined;
  }

  async #sign(tx: ContractTransaction): Promise<{ signed: string; nonce: number }> {
    let gas: bigint;
    try {
      gas = await this.#provider.estimateGas({ from: this.address, to: tx.to, data: tx.data });
    } catch (error) {
      const revert = isError(error, "CALL_EXCEPTION") ? decodeRevert(error) : undefined;
      if (revert !== undefined || isError(error, "CALL_EXCEPTION")) {
        throw new ChainError(
          "tx-reverted",
          `reverted: ${revert ? formatRevert(revert) : shortReason(error)}`,
          { cause: error, ...(revert ? { revert } : {}) },
        );
      }
      throw error;
    }
    if (this.#nonce === undefined) {
      this.#nonce = await this.#provider.getTransactionCount(this.address, "pending");
    }
    const nonce = this.#nonce;
    const fees = await this.#provider.getFeeData();
    const signed = await this.#wallet.signTransaction({
      type: 2,
      chainId: this.#chainId,
      to: tx.to,
      data: tx.data,
      nonce,
      gasLimit: (gas * this.#gasMargin) / 100n,
      maxFeePerGas: fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 0n,
    });
    return { signed, nonce };
  }

  async #broadcast(signed: string): Promise<void> {
    try {
      await this.#provider.broadcastTransaction(signed);
    } catch (error) {
      // A node that already has the transaction (our earlier attempt got through) says so.
      const text = error instanceof Error ? error.message : String(error);
      if (/already known|known transaction|already imported/i.test(text)) return;
      throw error;
    }
  }

  async #settle(
    label: string,
    receipt: TransactionReceipt,
    tx: ContractTransaction,
    log: Logger,
  ): Promise<TransactionReceipt> {
    if (receipt.status === 1) {
      this.#onEvent({ kind: "confirmed", label, hash: receipt.hash });
      log.info("transaction confirmed", {
        hash: receipt.hash,
        block: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
      });
      return receipt;
    }
    // Replay the call against the state it ran on to learn the custom error.
    let revert: ReturnType<typeof decodeRevert>;
    try {
      await this.#provider.call({
        from: this.address,
        to: tx.to,
        data: tx.data,
        blockTag: receipt.blockNumber - 1,
      });
    } catch (error) {
      revert = decodeRevert(error);
    }
    this.#onEvent({
      kind: "failed",
      label,
      hash: receipt.hash,
      reason: revert?.name ?? "reverted",
    });
    throw new ChainError(
      "tx-reverted",
      `${label} reverted in block ${receipt.blockNumber}${revert ? `: ${formatRevert(revert)}` : ""}`,
      { ...(revert ? { revert } : {}), details: { hash: receipt.hash } },
    );
  }
}

export function shortReason(error: unknown): string {
  if (error === undefined) return "unknown";
  const record = error as { shortMessage?: unknown; message?: unknown };
  if (typeof record.shortMessage === "string") return record.shortMessage;
  if (typeof record.message === "string") return record.message.split("\n")[0] ?? record.message;
  return String(error);
}
