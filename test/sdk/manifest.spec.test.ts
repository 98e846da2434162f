import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { network } from "hardhat";
import { deployProtocol } from "../../devnet/protocol.ts";
import { cidOf } from "../../sdk/content/index.ts";
import {
  checkSpecMatchesManifest,
  type JobSpecLike,
  JSON_SCHEMA_FILES,
  LIMITS,
  type Manifest,
  manifestBytes,
  manifestDigest,
  manifestJsonSchema,
  parseManifest,
  specFromManifest,
} from "../../sdk/manifest/index.ts";

const connection = await network.create({ chainType: "l1" });

const HEX = "0123456789abcdef".repeat(4);

function manifest(): Manifest {
  return parseManifest({
    version: 1,
    name: "pi",
    image: { ref: `conun/pi@sha256:${"ab".repeat(32)}`, id: `sha256:${HEX}` },
    command: ["/bin/pi"],
    tasks: { count: 4 },
    resources: { cpuMillicores: 1500, memoryMiB: 128, gpuCount: 1, timeoutSeconds: 30 },
    replication: { k: 3, quorum: 2 },
    price: { maxPerTaskReplica: "1.5", stakePerTaskReplica: "2.25" },
    windows: { biddingSeconds: 60, executionSeconds: 600, revealSeconds: 300 },
  });
}

async function reference(m: Manifest) {
  const bytes = manifestBytes(m);
  return { bytes, manifestCid: await cidOf(bytes), manifestDigest: manifestDigest(bytes) };
}

describe("specFromManifest", () => {
  it("maps every field of the manifest onto IJobMarket.JobSpec", async () => {
    const m = manifest();
    const { manifestCid, manifestDigest: digest } = await reference(m);
    expect(specFromManifest(m, { manifestCid, manifestDigest: digest })).to.deep.equal({
      manifestCid,
      manifestDigest: digest,
      imageRef: `conun/pi@sha256:${"ab".repeat(32)}`,
      imageDigest: `0x${HEX}`,
      taskCount: 4,
      replication: 3,
      quorum: 2,
      maxPrice: 1_500_000_000_000_000_000n,
      stakePerTaskReplica: 2_250_000_000_000_000_000n,
      biddingWindow: 60,
      executionWindow: 600,
      revealWindow: 300,
      cpuMillicores: 1500,
      memoryMiB: 128,
      gpuCount: 1,
    });
  });

  it("makes the manifest digest the multihash digest of the manifest's raw-leaf CID", async () => {
    const { bytes, manifestCid, manifestDigest: digest } = await reference(manifest());
    // A manifest under 256 KiB is one raw block: its CID's digest is sha256 of its bytes.
    expect(bytes.length).to.be.below(262_144);
    const { CID } = await import("multiformats/cid");
    const cidDigest = Buffer.from(CID.parse(manifestCid).multihash.digest).toString("hex");
    expect(digest).to.equal(`0x${cidDigest}`);
  });

  it("produces a spec the real JobMarket accepts and echoes back unchanged in JobPosted", async () => {
    const p = await deployProtocol(connection);
    const m = manifest();
    const { bytes, manifestCid, manifestDigest: digest } = await reference(m);
    const spec = specFromManifest(m, { manifestCid, manifestDigest: digest });
    const before = await p.token.balanceOf(p.requester.address);
    const receipt = await (await p.market.connect(p.requester).postJob(spec)).wait();
    const log = receipt?.logs
      .map((entry) => p.market.interface.parseLog(entry))
      .find((parsed) => parsed?.name === "JobPosted");
    const onChain = log?.args.spec.toObject() as JobSpecLike;
    expect(onChain.manifestCid).to.equal(manifestCid);
    expect(onChain.taskCount).to.equal(4n);
    expect(checkSpecMatchesManifest(onChain, m, { manifestBytes: bytes })).to.deep.equal([]);
    // Escrow = taskCount × k × maxPrice, pulled from the requester.
    const escrow = 4n * 3n * 1_500_000_000_000_000_000n;
    expect(log?.args.escrow).to.equal(escrow);
    expect(await p.token.balanceOf(p.requester.address)).to.equal(before - escrow);
  });
});

describe("checkSpecMatchesManifest", () => {
  it("lists every field where the on-chain spec disagrees with the manifest", async () => {
    const m = manifest();
    const { manifestCid, manifestDigest: digest } = await reference(m);
    const spec = specFromManifest(m, { manifestCid, manifestDigest: digest });
    const tampered: JobSpecLike = {
      ...spec,
      taskCount: 5n,
      maxPrice: 2n * 10n ** 18n,
      imageDigest: `0x${"00".repeat(32)}`,
      imageRef: `conun/evil@sha256:${"ab".repeat(32)}`,
    };
    expect(checkSpecMatchesManifest(tampered, m).map((x) => x.message)).to.deep.equal([
      `imageRef: on chain conun/evil@sha256:${"ab".repeat(32)}, manifest says conun/pi@sha256:${"ab".repeat(32)}`,
      `imageDigest: on chain 0x${"00".repeat(32)}, manifest says 0x${HEX}`,
      "taskCount: on chain 5, manifest says 4",
      "maxPrice: on chain 2.0 CONUN, manifest says 1.5 CONUN",
    ]);
  });

  it("accepts upper-case hex digests and bigint fields as ethers returns them", async () => {
    const m = manifest();
    const { manifestCid, manifestDigest: digest } = await reference(m);
    const spec = specFromManifest(m, { manifestCid, manifestDigest: digest });
    const fromChain: JobSpecLike = {
      ...spec,
      manifestDigest: `0x${digest.slice(2).toUpperCase()}`,
      taskCount: BigInt(spec.taskCount),
      gpuCount: BigInt(spec.gpuCount),
    };
    expect(checkSpecMatchesManifest(fromChain, m)).to.deep.equal([]);
  });

  it("catches a manifest digest that does not match the fetched manifest bytes", async () => {
    const m = manifest();
    const { bytes, manifestCid } = await reference(m);
    const spec = specFromManifest(m, { manifestCid, manifestDigest: `0x${"11".repeat(32)}` });
    const mismatches = checkSpecMatchesManifest(spec, m, { manifestBytes: bytes });
    expect(mismatches.map((x) => x.field)).to.deep.equal(["manifestDigest"]);
    expect(mismatches[0]?.onChain).to.equal(`0x${"11".repeat(32)}`);
  });
});

describe("manifest LIMITS", () => {
  it("mirror the constants of contracts/JobMarket.sol", async () => {
    const source = await readFile("contracts/JobMarket.sol", "utf8");
    const constant = (name: string) => {
      const match = new RegExp(`constant ${name} = ([0-9_]+)( days)?;`).exec(source);
      if (match === null) throw new Error(`${name} not found in JobMarket.sol`);
      const value = Number((match[1] as string).replaceAll("_", ""));
      return match[2] === undefined ? value : value * 24 * 3600;
    };
    expect(LIMITS.maxTaskCount).to.equal(constant("MAX_TASK_COUNT"));
    expect(LIMITS.maxReplication).to.equal(constant("MAX_REPLICATION"));
    expect(LIMITS.maxBiddingSeconds).to.equal(constant("MAX_BIDDING_WINDOW"));
    expect(LIMITS.maxExecutionSeconds).to.equal(constant("MAX_EXECUTION_WINDOW"));
    expect(LIMITS.maxRevealSeconds).to.equal(constant("MAX_REVEAL_WINDOW"));
  });

  it("mirror the integer widths of IJobMarket.JobSpec", async () => {
    const source = await readFile("contracts/interfaces/IJobMarket.sol", "utf8");
    const struct = /struct JobSpec \{([^}]*)\}/.exec(source)?.[1] ?? "";
    const width = (field: string) => new RegExp(`uint(\\d+) ${field};`).exec(struct)?.[1];
    expect(width("cpuMillicores")).to.equal("32");
    expect(width("memoryMiB")).to.equal("32");
    expect(LIMITS.maxUint32).to.equal(2 ** 32 - 1);
    expect(width("gpuCount")).to.equal("16");
    expect(LIMITS.maxUint16).to.equal(2 ** 16 - 1);
    expect(width("maxPrice")).to.equal("96");
    expect(width("stakePerTaskReplica")).to.equal("96");
    expect(LIMITS.maxUint96).to.equal(2n ** 96n - 1n);
    expect(width("taskCount")).to.equal("32");
    expect(width("replication")).to.equal("8");
  });
});

describe("manifest JSON Schema", () => {
  for (const form of ["resolved", "source"] as const) {
    it(`committed sdk/manifest/${JSON_SCHEMA_FILES[form]} matches the zod schema (regenerate with emit-json-schema.ts)`, async () => {
      const committed = JSON.parse(
        await readFile(`sdk/manifest/${JSON_SCHEMA_FILES[form]}`, "utf8"),
      ) as unknown;
      expect(committed).to.deep.equal(manifestJsonSchema(form));
    });
  }

  it("states the protocol's bounds so editors can check them", () => {
    const schema = manifestJsonSchema("resolved") as {
      properties: Record<string, { properties: Record<string, Record<string, unknown>> }>;
    };
    expect(schema.properties.tasks?.properties.count).to.include({
      minimum: 1,
      maximum: 1_000_000,
    });
    expect(schema.properties.replication?.properties.k).to.include({ minimum: 1, maximum: 8 });
    expect(schema.properties.image?.properties.ref?.pattern).to.be.a("string");
  });
});
