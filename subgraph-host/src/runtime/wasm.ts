/**
 * The few WebAssembly JS API types the runtime uses. The project's TypeScript lib is plain
 * es2023 (no DOM), which does not declare the `WebAssembly` namespace Node provides.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

export type WasmImports = Record<string, Record<string, unknown>>;

// biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module handle
export interface WasmModule {}

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): WasmImportDescriptor[];
    exports(module: WasmModule): { name: string; kind: string }[];
  };
  Instance: new (module: WasmModule, imports: WasmImports) => { exports: Record<string, unknown> };
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
