/**
 * The deployment hash graph-node reports for a build (`_meta.deployment`, `/subgraphs/id/…`):
 * the IPFS CID of the manifest as `graph deploy` (or `graph build --ipfs`) uploads it.
 *
 * graph-cli (packages/cli/src/compiler/index.ts, `uploadSubgraphToIPFS`) takes the manifest it
 * wrote to `build/subgraph.yaml`, adds each file it references to IPFS — the schema, every
 * data source's and template's ABIs and mapping WASM, in that order — and replaces each path
 * with an IPLD link `{ "/": "/ipfs/<cid>" }`. It then dumps the result with js-yaml
 * (`dump(manifest, { noRefs: true, sortKeys: true })`) and adds that text as `subgraph.yaml`;
 * the CID of that add is the deployment hash. Every add goes to Kubo's `/api/v0/add` with its
 * defaults: CIDv0, dag-pb UnixFS leaves (no raw leaves), 256 KiB fixed-size chunks, balanced
 * layout of at most 174 links per node, sha2-256.
 *
 * The YAML is dumped with the js-yaml graph-cli itself depends on (found through graph-cli's
 * install), so its quoting and line folding are the ones graph-cli produces.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { parse } from "yaml";
import { SubgraphHostError } from "./runtime/errors.ts";

/** The CID `ipfs add` (Kubo, default settings) gives `bytes`: CIDv0, `Qm…`. */
export async function ipfsAddCidV0(bytes: Uint8Array): Promise<string> {
  let root: string | undefined;
  const sink = { put: async <T>(cid: T) => cid };
  for await (const entry of importer([{ content: bytes }], sink, {
    cidVersion: 0,
    rawLeaves: false,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262_144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    wrapWithDirectory: false,
  })) {
    root = entry.cid.toString();
  }
  if (root === undefined) throw new Error("the UnixFS importer produced no root");
  return root;
}

type YamlDump = (value: unknown, options: { noRefs: boolean; sortKeys: boolean }) => string;
let jsYamlDump: YamlDump | undefined;

/** graph-cli's own js-yaml `dump` (graph-cli 0.98 pins js-yaml 4.1.0). */
function graphCliYamlDump(): YamlDump {
  if (jsYamlDump !== undefined) return jsYamlDump;
  let cliRoot: string;
  try {
    // graph-cli's package has no `exports`: its main module is dist/index.js.
    cliRoot = resolve(
      dirname(fileURLToPath(import.meta.resolve("@graphprotocol/graph-cli"))),
      "..",
    );
  } catch (cause) {
    throw new SubgraphHostError(
      "deployment-hash-unavailable",
      "@graphprotocol/graph-cli is not installed, and its js-yaml is what writes the uploaded manifest: run npm install",
      { cause },
    );
  }
  const requireFromCli = createRequire(resolve(cliRoot, "package.json"));
  const dump = (requireFromCli("js-yaml") as { dump?: YamlDump }).dump;
  if (typeof dump !== "function") {
    throw new SubgraphHostError("deployment-hash-unavailable", "graph-cli's js-yaml has no dump()");
  }
  jsYamlDump = dump;
  return dump;
}

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

export interface UploadedManifest {
  /** The manifest text graph-cli uploads (file paths replaced by /ipfs/ links). */
  text: string;
  /** Its CIDv0: the deployment hash. */
  deployment: string;
}

/**
 * The manifest `graph deploy` would upload for the build whose `subgraph.yaml` is
 * `manifestPath`, and its CID (see the module comment for the steps and their source).
 */
export async function uploadedManifest(manifestPath: string): Promise<UploadedManifest> {
  const base = dirname(manifestPath);
  const manifest = parse(readFileSync(manifestPath, "utf8")) as Json;
  const cids = new Map<string, string>();
  const link = async (file: unknown): Promise<unknown> => {
    if (typeof file !== "string") return file;
    const path = resolve(base, file);
    let cid = cids.get(path);
    if (cid === undefined) {
      cid = await ipfsAddCidV0(readFileSync(path));
      cids.set(path, cid);
    }
    return { "/": `/ipfs/${cid}` };
  };
  // The order of graph-cli's uploads, though only the resulting links matter for the hash.
  const schema = asRecord(manifest.schema);
  if (schema !== undefined) schema.file = await link(schema.file);
  const dataSources = Array.isArray(manifest.dataSources) ? manifest.dataSources : [];
  const templates = Array.isArray(manifest.templates) ? manifest.templates : [];
  for (const ds of dataSources) {
    for (const abi of (asRecord(asRecord(ds)?.mapping)?.abis as unknown[] | undefined) ?? []) {
      const entry = asRecord(abi);
      if (entry !== undefined) entry.file = await link(entry.file);
    }
  }
  for (const ds of dataSources) {
    const record = asRecord(ds);
    const mapping = asRecord(record?.mapping);
    const pkg = asRecord(asRecord(record?.source)?.package);
    // Substreams data sources upload their package (and a mapping only if they have one).
    if (pkg !== undefined) pkg.file = await link(pkg.file);
    if (mapping !== undefined && mapping.file !== undefined)
      mapping.file = await link(mapping.file);
  }
  for (const template of templates) {
    const mapping = asRecord(asRecord(template)?.mapping);
    for (const abi of (mapping?.abis as unknown[] | undefined) ?? []) {
      const entry = asRecord(abi);
      if (entry !== undefined) entry.file = await link(entry.file);
    }
    if (mapping !== undefined) mapping.file = await link(mapping.file);
  }
  const text = graphCliYamlDump()(manifest, { noRefs: true, sortKeys: true });
  return { text, deployment: await ipfsAddCidV0(Buffer.from(text, "utf8")) };
}

/** The deployment hash graph-node would report for this build (`Qm…`). */
export async function deploymentHash(manifestPath: string): Promise<string> {
  return (await uploadedManifest(manifestPath)).deployment;
}
