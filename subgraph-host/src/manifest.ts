/**
 * Reads a graph-cli build (`subgraph/build/subgraph.yaml`) into what the host needs: each
 * data source's address, start block, ABI, event handlers (topic0 → handler) and WASM file.
 * Anything the host cannot run (call or block handlers, templates, file data sources,
 * receipts) is refused here, at load, with the data source's name, rather than silently
 * skipped while indexing.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { id as keccakUtf8 } from "ethers";
import { parse } from "yaml";
import { SUPPORTED_API_VERSIONS } from "./runtime/api-version.ts";
import { SubgraphHostError } from "./runtime/errors.ts";

export interface EventHandlerSpec {
  /** The manifest's signature, `indexed` markers included. */
  event: string;
  /** Canonical signature (no `indexed`), as hashed into topic0. */
  signature: string;
  topic0: string;
  handler: string;
}

export type ContextValue =
  | { type: "Bytes"; data: string }
  | { type: "String"; data: string }
  | { type: "Bool"; data: boolean }
  | { type: "Int"; data: number }
  | { type: "Int8"; data: string }
  | { type: "BigInt"; data: string }
  | { type: "BigDecimal"; data: string };

export interface DataSourceSpec {
  name: string;
  network: string;
  /** 0x-prefixed lower-case address. */
  address: string;
  startBlock: number;
  abiName: string;
  /** The ABI (array of fragments) of `abiName`. */
  abi: unknown[];
  apiVersion: string;
  wasmPath: string;
  eventHandlers: EventHandlerSpec[];
  context: Record<string, ContextValue>;
}

export interface SubgraphManifest {
  /** The folder holding the manifest; its file paths are relative to it. */
  buildDir: string;
  /** The manifest file (`<buildDir>/subgraph.yaml` for a graph-cli build). */
  manifestPath: string;
  specVersion: string;
  schemaPath: string;
  dataSources: DataSourceSpec[];
}

/** Run-time changes to a data source, e.g. the addresses of a local deployment. */
export interface DataSourceOverride {
  address?: string;
  startBlock?: number;
  context?: Record<string, ContextValue>;
}

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new SubgraphHostError("subgraph-manifest-invalid", message, { details });
}

function unsupported(dataSource: string, what: string): never {
  throw new SubgraphHostError(
    "subgraph-manifest-unsupported",
    `data source "${dataSource}" uses ${what}, which the embedded host does not support`,
    { details: { dataSource, feature: what } },
  );
}

/** `Foo(indexed uint256,(uint8,string),address)` → `Foo(uint256,(uint8,string),address)`. */
export function canonicalSignature(event: string): string {
  return event.replace(/\bindexed\s+/g, "").replace(/\s+/g, "");
}

function readAbi(file: string): unknown[] {
  const json: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (Array.isArray(json)) return json;
  // graph-cli accepts Hardhat artifacts ({ abi: [...] }) as ABI files.
  if (json !== null && typeof json === "object" && Array.isArray((json as { abi?: unknown }).abi)) {
    return (json as { abi: unknown[] }).abi;
  }
  return invalid(`ABI file ${file} holds neither an ABI array nor an artifact with one`);
}

function normaliseAddress(value: unknown, where: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    return invalid(`${where}: "${String(value)}" is not an address`);
  }
  return value.toLowerCase();
}

/**
 * The manifest file of `location`: a graph-cli build directory (its `subgraph.yaml`) or the
 * manifest file itself. A missing one is an error saying how to get one.
 */
export function resolveManifestPath(location: string): string {
  const absolute = resolve(location);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch (cause) {
    throw new SubgraphHostError(
      "subgraph-manifest-invalid",
      `${absolute} does not exist: pass a graph-cli build folder (run \`graph build\` in the subgraph's folder to make one) or its subgraph.yaml`,
      { cause },
    );
  }
  if (!isDirectory) return absolute;
  const manifestPath = resolve(absolute, "subgraph.yaml");
  try {
    statSync(manifestPath);
  } catch (cause) {
    throw new SubgraphHostError(
      "subgraph-manifest-invalid",
      `${absolute} has no subgraph.yaml: is it a graph-cli build folder? Run \`graph build\` in the subgraph's folder and pass its build/ folder`,
      { cause },
    );
  }
  return manifestPath;
}

/**
 * Loads a build's manifest (`location` is the build directory or its `subgraph.yaml`).
 * `overrides` (keyed by data source name) replace the built addresses/start blocks — the WASM
 * does not depend on them, so one build serves every local deployment.
 */
export function loadManifest(
  location: string,
  overrides: Record<string, DataSourceOverride> = {},
): SubgraphManifest {
  const manifestPath = resolveManifestPath(location);
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
  } catch (cause) {
    throw new SubgraphHostError("subgraph-manifest-invalid", `cannot read ${manifestPath}`, {
      cause,
    });
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    invalid(`${manifestPath} is not a subgraph manifest (expected a YAML mapping)`);
  const base = dirname(manifestPath);
  if (Array.isArray(doc.templates) && doc.templates.length > 0) {
    unsupported(String((doc.templates[0] as { name?: string }).name), "data source templates");
  }
  const schemaFile = (doc.schema as { file?: string } | undefined)?.file;
  if (typeof schemaFile !== "string") invalid("subgraph.yaml has no schema.file");
  const rawSources = doc.dataSources;
  if (!Array.isArray(rawSources) || rawSources.length === 0)
    invalid("subgraph.yaml has no dataSources");

  const known = new Set<string>();
  const dataSources = rawSources.map((raw: Record<string, unknown>): DataSourceSpec => {
    const name = String(raw.name);
    known.add(name);
    if (raw.kind !== "ethereum/contract" && raw.kind !== "ethereum") {
      unsupported(name, `kind "${String(raw.kind)}" (file or non-Ethereum data sources)`);
    }
    const source = (raw.source ?? {}) as Record<string, unknown>;
    const mapping = (raw.mapping ?? {}) as Record<string, unknown>;
    if (Array.isArray(mapping.callHandlers) && mapping.callHandlers.length > 0)
      unsupported(name, "call handlers");
    if (Array.isArray(mapping.blockHandlers) && mapping.blockHandlers.length > 0)
      unsupported(name, "block handlers");
    if (mapping.language !== "wasm/assemblyscript")
      unsupported(name, `language "${String(mapping.language)}"`);
    const apiVersion = String(mapping.apiVersion);
    if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      throw new SubgraphHostError(
        "subgraph-manifest-unsupported",
        `data source "${name}" uses apiVersion ${apiVersion}; the embedded host runs ${SUPPORTED_API_VERSIONS.join(", ")} (graph-node's AssemblyScript ≥ 0.19 versions): set mapping.apiVersion to one of them and rebuild (graph build migrates older mappings unless --skip-migrations)`,
        { details: { dataSource: name, feature: `apiVersion ${apiVersion}` } },
      );
    }
    const abiName = String(source.abi);
    const abiEntry = (mapping.abis as { name: string; file: string }[] | undefined)?.find(
      (a) => a.name === abiName,
    );
    if (abiEntry === undefined) invalid(`data source "${name}": no ABI named ${abiName}`);
    const handlers = (mapping.eventHandlers ?? []) as Record<string, unknown>[];
    const eventHandlers = handlers.map((h): EventHandlerSpec => {
      if (h.receipt === true) unsupported(name, `receipts (handler ${String(h.handler)})`);
      if (h.calls !== undefined)
        unsupported(name, `declared eth_calls (handler ${String(h.handler)})`);
      if (h.topic1 !== undefined || h.topic2 !== undefined || h.topic3 !== undefined) {
        unsupported(name, `topic filters (handler ${String(h.handler)})`);
      }
      const event = String(h.event);
      const signature = canonicalSignature(event);
      return { event, signature, topic0: keccakUtf8(signature), handler: String(h.handler) };
    });
    const override = overrides[name] ?? {};
    const context: Record<string, ContextValue> = {};
    for (const [key, value] of Object.entries(
      (raw.context ?? {}) as Record<string, ContextValue>,
    )) {
      context[key] = value;
    }
    Object.assign(context, override.context ?? {});
    if (source.address === undefined && override.address === undefined) {
      unsupported(name, "no source address (wildcard data sources)");
    }
    return {
      name,
      network: String(raw.network),
      address: normaliseAddress(
        override.address ?? source.address,
        `data source "${name}" address`,
      ),
      startBlock: Number(override.startBlock ?? source.startBlock ?? 0),
      abiName,
      abi: readAbi(resolve(base, abiEntry.file)),
      apiVersion,
      wasmPath: resolve(base, String(mapping.file)),
      eventHandlers,
      context,
    };
  });
  // graph-node refuses mixed versions from 0.0.5 on (graph/src/data/subgraph/manifest_validation.rs
  // `validate_api_versions`), and every version the host runs is ≥ 0.0.5.
  const versions = [...new Set(dataSources.map((ds) => ds.apiVersion))].sort();
  if (versions.length > 1) {
    invalid(
      `the data sources use different apiVersions (${versions.join(", ")}); graph-node requires one apiVersion for all of them from 0.0.5 on: give every mapping the same apiVersion and rebuild`,
    );
  }
  for (const name of Object.keys(overrides)) {
    if (!known.has(name))
      invalid(`override for unknown data source "${name}"`, { known: [...known] });
  }
  return {
    buildDir: base,
    manifestPath,
    specVersion: String(doc.specVersion),
    schemaPath: resolve(base, schemaFile as string),
    dataSources,
  };
}
