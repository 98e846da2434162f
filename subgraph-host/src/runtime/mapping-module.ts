/**
 * One data source's compiled mapping: the WASM module, checked at load time against the host
 * functions we provide, and an instance that runs its event handlers.
 *
 * Like graph-node we refuse a module whose imports we cannot satisfy before running anything,
 * naming the import. Unlike graph-node (a fresh instance per trigger) we keep one instance
 * while handlers succeed — instantiating per event would cost more than the handler itself —
 * and throw it away after any failure, since a trap leaves the AssemblyScript runtime's
 * shadow stack and heap in an unknown state, and once its memory passes a limit (the stub
 * runtime graph-cli compiles with never frees anything). Mappings relying on module-level mutable state
 * being reset between triggers would behave differently; graph-ts mappings rarely do.
 *
 * V8 has no fuel metering, so handler time is bounded by a wall-clock deadline checked on
 * every host call: a handler that loops without calling the host cannot be interrupted.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../../../sdk/logger.ts";
import type { EntityStore } from "../store/types.ts";
import { type AscExports, AscHeap } from "./asc-heap.ts";
import { SubgraphHostError } from "./errors.ts";
import { type EthEvent, type EthereumLayout, ethereumLayout, writeEvent } from "./ethereum.ts";
import {
  createHostFunctions,
  type DataSourceInfo,
  type HostFunction,
  MappingAbort,
} from "./host-imports.ts";
import type { EntitySchema } from "./schema.ts";
import { Wasm, type WasmImports, type WasmModule } from "./wasm.ts";

export interface MappingModuleOptions {
  dataSource: DataSourceInfo;
  schema: EntitySchema;
  logger: Logger;
  /** Wall-clock budget of one handler call; default 10 s. */
  handlerTimeoutMs?: number;
  /**
   * Linear memory size after which the instance is replaced by a fresh one; default 64 MiB.
   * graph-cli builds mappings with AssemblyScript's stub runtime, which never frees: graph-node
   * gets away with it by instantiating per trigger, we by recycling the instance.
   */
  memoryLimitBytes?: number;
}

/** Checks every import of `module` against the host functions; returns the import object. */
function linkImports(module: WasmModule, functions: Map<string, HostFunction>): WasmImports {
  const imports: WasmImports = {};
  for (const entry of Wasm.Module.imports(module)) {
    const fn = functions.get(entry.name);
    if (entry.kind !== "function" || fn === undefined) {
      throw new SubgraphHostError(
        "host-import-unsupported",
        `unsupported host import "${entry.name}"`,
        {
          details: { module: entry.module, name: entry.name, kind: entry.kind },
        },
      );
    }
    imports[entry.module] ??= {};
    (imports[entry.module] as Record<string, unknown>)[entry.name] = fn;
  }
  return imports;
}

export class MappingModule {
  readonly dataSource: DataSourceInfo;
  readonly #module: WasmModule;
  readonly #imports: WasmImports;
  readonly #timeoutMs: number;
  readonly #memoryLimit: number;
  readonly #handlers: Set<string>;
  readonly #functions: Map<string, HostFunction>;
  readonly #layout: EthereumLayout;
  #instance: { exports: AscExports & Record<string, unknown>; heap: AscHeap } | null = null;
  #store: EntityStore | null = null;
  #deadline = Number.POSITIVE_INFINITY;

  constructor(wasm: Uint8Array, options: MappingModuleOptions) {
    this.dataSource = options.dataSource;
    this.#layout = ethereumLayout(options.dataSource.apiVersion);
    this.#timeoutMs = options.handlerTimeoutMs ?? 10_000;
    this.#memoryLimit = options.memoryLimitBytes ?? 64 * 1024 * 1024;
    try {
      this.#module = new Wasm.Module(wasm);
    } catch (cause) {
      throw new SubgraphHostError(
        "subgraph-manifest-invalid",
        `data source "${options.dataSource.name}": invalid WASM`,
        {
          cause,
        },
      );
    }
    const functions = createHostFunctions({
      heap: () => {
        if (this.#instance === null) throw new Error("no mapping instance");
        return this.#instance.heap;
      },
      store: () => {
        if (this.#store === null) throw new MappingAbort("store access outside a handler");
        return this.#store;
      },
      schema: options.schema,
      dataSource: options.dataSource,
      logger: options.logger.child(options.dataSource.name),
      checkDeadline: () => {
        if (performance.now() > this.#deadline) {
          throw new MappingAbort(`handler exceeded its ${this.#timeoutMs} ms time limit`);
        }
      },
    });
    this.#functions = functions;
    this.#imports = linkImports(this.#module, functions);
    const exported = new Set(Wasm.Module.exports(this.#module).map((e) => e.name));
    for (const name of ["memory", "__new", "__pin", "__unpin", "id_of_type"]) {
      if (!exported.has(name)) {
        throw new SubgraphHostError(
          "subgraph-manifest-unsupported",
          `data source "${options.dataSource.name}": WASM does not export ${name} (not a graph-ts ≥ 0.22 mapping?)`,
        );
      }
    }
    this.#handlers = exported;
  }

  static fromFile(path: string, options: MappingModuleOptions): MappingModule {
    return new MappingModule(readFileSync(path), options);
  }

  hasHandler(name: string): boolean {
    return this.#handlers.has(name);
  }

  #instantiate(): { exports: AscExports & Record<string, unknown>; heap: AscHeap } {
    const instance = new Wasm.Instance(this.#module, this.#imports);
    const exports = instance.exports as unknown as AscExports & Record<string, unknown>;
    const created = { exports, heap: new AscHeap(exports) };
    this.#instance = created;
    // Modules built with --explicitStart run their top-level code only when asked to.
    const start = exports._start;
    if (typeof start === "function") start();
    return created;
  }

  /**
   * Runs `handler` on `event` with `store` as the store of the open block. Throws a
   * MappingAbort (or SubgraphHostError) carrying graph-node-style messages on failure.
   */
  handleEvent(handler: string, event: EthEvent, store: EntityStore): void {
    const instance = this.#instance ?? this.#instantiate();
    const fn = instance.exports[handler];
    if (typeof fn !== "function") {
      throw new SubgraphHostError(
        "subgraph-manifest-invalid",
        `data source "${this.dataSource.name}" has no handler ${handler}`,
      );
    }
    this.#store = store;
    this.#deadline = performance.now() + this.#timeoutMs;
    let failed = true;
    try {
      const eventPtr = writeEvent(instance.heap, event, this.#layout);
      fn(eventPtr);
      failed = false;
    } catch (error) {
      if (error instanceof SubgraphHostError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new MappingAbort(`${handler} failed: ${message}`, { handler });
    } finally {
      this.#store = null;
      this.#deadline = Number.POSITIVE_INFINITY;
      if (failed || instance.heap.memorySize() > this.#memoryLimit) this.#instance = null;
      else instance.heap.releasePins();
    }
  }

  /**
   * A fresh instance's heap and the host functions bound to it, to exercise the runtime
   * directly (tests). `store` serves the store imports until the next handler call.
   */
  openForTest(store?: EntityStore): {
    heap: AscHeap;
    hostFunction(name: string): HostFunction;
  } {
    const created = this.#instantiate();
    this.#store = store ?? null;
    const functions = this.#functions;
    return {
      heap: created.heap,
      hostFunction(name) {
        const fn = functions.get(name);
        if (fn === undefined) throw new Error(`no host function ${name}`);
        return fn;
      },
    };
  }
}
