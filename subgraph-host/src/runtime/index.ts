export { AscHeap, bigIntFromSignedLE, bigIntToSignedLE } from "./asc-heap.ts";
export * as bigDecimal from "./big-decimal.ts";
export { SubgraphHostError } from "./errors.ts";
export type { EthBlock, EthEvent, EthTransaction, EthValue } from "./ethereum.ts";
export { MappingAbort } from "./host-imports.ts";
export { MappingModule, type MappingModuleOptions } from "./mapping-module.ts";
export { type EntitySchema, loadEntitySchema, parseEntitySchema } from "./schema.ts";
