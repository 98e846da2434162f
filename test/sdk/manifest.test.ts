import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { cidOfDirectory } from "../../sdk/content/index.ts";
import {
  type Manifest,
  ManifestError,
  type ManifestProblem,
  manifestBytes,
  manifestDigest,
  parseManifest,
  serializeManifest,
  validateManifest,
} from "../../sdk/manifest/index.ts";

const CID = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
const DIR_CID = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe";
const HEX = "0123456789abcdef".repeat(4);
/** The one message for `busybox:latest`: pin by digest, how to get it, or use an archive. */
const UNPINNED_BUSYBOX =
  '"busybox:latest" is not pinned: pin it by digest as name@sha256:<digest> (after ' +
  "`docker pull busybox:latest`, `docker inspect --format '{{index .RepoDigests 0}}' " +
  "busybox:latest` prints it and `docker inspect --format '{{.Id}}' busybox:latest` the " +
  "image.id), or use image.archive (a `docker save` tarball) instead";

/** Loose JSON that tests mutate freely into malformed manifests. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are deliberately untyped JSON to break
type Json = Record<string, any>;

/** A complete, valid resolved manifest; each test mutates its own copy. */
function valid(): Json {
  return {
    version: 1,
    name: "mandelbrot-tiles",
    description: "Renders a fractal in tiles",
    deterministic: true,
    image: { ref: `ipfs://${DIR_CID}`, id: `sha256:${HEX}` },
    command: ["/bin/render", "--size", "256"],
    env: { ITERATIONS: "500" },
    inputs: [{ cid: CID, path: "data" }],
    tasks: {
      count: 4,
      args: [
        ["--tile", "0"],
        ["--tile", "1"],
        ["--tile", "2"],
        ["--tile", "3"],
      ],
    },
    resources: {
      cpuMillicores: 1000,
      memoryMiB: 256,
      gpuCount: 0,
      timeoutSeconds: 60,
      maxOutputBytes: 10_485_760,
      pids: 64,
    },
    replication: { k: 3, quorum: 2 },
    price: { maxPerTaskReplica: "1.5", stakePerTaskReplica: "10" },
    windows: { biddingSeconds: 60, executionSeconds: 600, revealSeconds: 300 },
  };
}

function problemsOf(input: unknown, form: "source" | "resolved" = "resolved"): [string, string][] {
  try {
    parseManifest(input, { form } as { form: "source" });
  } catch (error) {
    expect(error).to.be.instanceOf(ManifestError);
    return (error as ManifestError).problems.map((p: ManifestProblem) => [p.path, p.message]);
  }
  expect.fail("the manifest was accepted");
}

describe("parseManifest", () => {
  it("accepts a complete resolved manifest and returns it typed", () => {
    const manifest: Manifest = parseManifest(valid());
    expect(manifest.tasks.count).to.equal(4);
    expect(manifest.image.ref).to.equal(`ipfs://${DIR_CID}`);
    expect(manifest.inputs).to.deep.equal([{ cid: CID, path: "data" }]);
  });

  it("fills in the documented defaults", () => {
    const minimal = valid();
    delete minimal.description;
    delete minimal.deterministic;
    delete minimal.env;
    delete minimal.inputs;
    delete minimal.tasks.args;
    delete minimal.resources.gpuCount;
    delete minimal.resources.maxOutputBytes;
    delete minimal.resources.pids;
    const manifest = parseManifest(minimal);
    expect(manifest.deterministic).to.equal(true);
    expect(manifest.inputs).to.deep.equal([]);
    expect(manifest.env).to.equal(undefined);
    expect(manifest.tasks.args).to.equal(undefined);
    expect(manifest.resources).to.deep.equal({
      cpuMillicores: 1000,
      memoryMiB: 256,
      gpuCount: 0,
      timeoutSeconds: 60,
      maxOutputBytes: 104_857_600,
      pids: 256,
    });
  });

  it("accepts an image pinned by registry digest, with or without registry host and tag", () => {
    for (const ref of [
      `busybox@sha256:${HEX}`,
      `conun/render:1.2@sha256:${HEX}`,
      `127.0.0.1:5000/team/render-tool@sha256:${HEX}`,
    ]) {
      const manifest = valid();
      manifest.image.ref = ref;
      expect(parseManifest(manifest).image.ref).to.equal(ref);
    }
  });

  it("parses JSON text and UTF-8 bytes", () => {
    const text = JSON.stringify(valid());
    expect(parseManifest(text).name).to.equal("mandelbrot-tiles");
    expect(parseManifest(new TextEncoder().encode(text)).name).to.equal("mandelbrot-tiles");
  });

  it("parses a YAML source manifest with local files", () => {
    const yaml = [
      "version: 1",
      "name: sweep",
      "image: { archive: ./image.tar }",
      "command: [/bin/sh, -c, 'echo $TASK_INDEX > /output/i']",
      "inputs:",
      "  - { source: ./data, path: data }",
      `  - { cid: ${CID}, path: more }`,
      "tasks: { count: 2 }",
      "resources: { cpuMillicores: 500, memoryMiB: 64, timeoutSeconds: 10 }",
      "replication: { k: 2, quorum: 2 }",
      'price: { maxPerTaskReplica: "0.01", stakePerTaskReplica: "0.01" }',
      "windows: { biddingSeconds: 30, executionSeconds: 120, revealSeconds: 60 }",
    ].join("\n");
    const manifest = parseManifest(yaml, { form: "source" });
    expect(manifest.image).to.deep.equal({ archive: "./image.tar" });
    expect(manifest.inputs).to.deep.equal([
      { source: "./data", path: "data" },
      { cid: CID, path: "more" },
    ]);
    expect(manifest.price.stakePerTaskReplica).to.equal("0.01");
  });

  it("lists every problem at once, in document order", () => {
    const manifest = valid();
    manifest.version = 2;
    manifest.tasks.count = 0;
    manifest.replication.quorum = 1;
    manifest.windows.revealSeconds = 0;
    const error = (() => {
      try {
        parseManifest(manifest);
      } catch (e) {
        return e as ManifestError;
      }
      throw new Error("accepted");
    })();
    expect(error.code).to.equal("manifest-invalid");
    expect(error.problems.map((p) => p.path)).to.deep.equal([
      "version",
      "tasks.count",
      "tasks.args",
      "replication.quorum",
      "windows.revealSeconds",
    ]);
    expect(error.message).to.contain("tasks.count: must be ≥ 1");
    expect(error.message).to.contain("replication.quorum: must be more than half of k");
    expect(validateManifest(manifest)).to.deep.equal(error.problems);
    expect(validateManifest(valid())).to.deep.equal([]);
  });

  describe("rejects malformed manifests with the exact path and message", () => {
    type Case = {
      name: string;
      mutate: (m: Json) => unknown;
      form?: "source" | "resolved";
      problems: [string, string][];
    };
    const cases: Case[] = [
      {
        name: "a version other than 1",
        mutate: (m) => {
          m.version = 2;
        },
        problems: [["version", "must be 1 (the only manifest version)"]],
      },
      {
        name: "a missing name",
        mutate: (m) => {
          delete m.name;
        },
        problems: [["name", "is required"]],
      },
      {
        name: "a name starting with a dash",
        mutate: (m) => {
          m.name = "-tiles";
        },
        problems: [
          ["name", "must start with a letter or digit and use only letters, digits, . _ -"],
        ],
      },
      {
        name: "a name longer than 64 characters",
        mutate: (m) => {
          m.name = "n".repeat(65);
        },
        problems: [["name", "must be at most 64 characters"]],
      },
      {
        name: "a non-boolean deterministic flag",
        mutate: (m) => {
          m.deterministic = "yes";
        },
        problems: [["deterministic", "must be a boolean (got a string)"]],
      },
      {
        name: "an image tag that is not pinned by digest",
        mutate: (m) => {
          m.image.ref = "busybox:latest";
        },
        problems: [["image.ref", UNPINNED_BUSYBOX]],
      },
      {
        name: "an unpinned tag without an id in a source manifest, once (not also ref or id)",
        form: "source",
        mutate: (m) => {
          m.image = { ref: "busybox:latest" };
        },
        problems: [["image.ref", UNPINNED_BUSYBOX]],
      },
      {
        name: "a pinned ref without its id, saying how to get the id",
        form: "source",
        mutate: (m) => {
          m.image = { ref: `busybox@sha256:${HEX}` };
        },
        problems: [
          [
            "image.id",
            `is required with image.ref: the image ID, which \`docker inspect --format '{{.Id}}' busybox@sha256:${HEX}\` prints`,
          ],
        ],
      },
      {
        name: "a truncated image digest",
        mutate: (m) => {
          m.image.ref = "busybox@sha256:abc";
        },
        problems: [["image.ref", "must end in @sha256: followed by 64 lowercase hex digits"]],
      },
      {
        name: "an image name with upper-case letters",
        mutate: (m) => {
          m.image.ref = `BusyBox@sha256:${HEX}`;
        },
        problems: [["image.ref", "is not a valid image name (registry/name@sha256:…)"]],
      },
      {
        name: "an image archive named by a CIDv0",
        mutate: (m) => {
          m.image.ref = "ipfs://QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
        },
        problems: [
          [
            "image.ref",
            "must be ipfs:// followed by a CIDv1 (base32, sha2-256) of a `docker save` archive",
          ],
        ],
      },
      {
        name: "a missing image ID",
        mutate: (m) => {
          delete m.image.id;
        },
        problems: [["image.id", "is required"]],
      },
      {
        name: "an image ID in upper-case hex",
        mutate: (m) => {
          m.image.id = `sha256:${HEX.toUpperCase()}`;
        },
        problems: [
          ["image.id", "must be an image ID: sha256: followed by 64 lowercase hex digits"],
        ],
      },
      {
        name: "an image archive in a resolved manifest",
        mutate: (m) => {
          m.image = { archive: "./image.tar" };
        },
        problems: [
          ["image.ref", "is required"],
          ["image.id", "is required"],
          [
            "image.archive",
            "is only allowed in a source manifest; the resolved form has image.ref and image.id",
          ],
        ],
      },
      {
        name: "an image archive combined with a ref in a source manifest",
        form: "source",
        mutate: (m) => {
          m.image.archive = "./image.tar";
        },
        problems: [
          [
            "image.archive",
            "cannot be combined with ref or id (the tools derive both from the archive)",
          ],
        ],
      },
      {
        name: "an empty command",
        mutate: (m) => {
          m.command = [];
        },
        problems: [["command", "must have at least the program to run"]],
      },
      {
        name: "a command given as one shell string",
        mutate: (m) => {
          m.command = "/bin/render --size 256";
        },
        problems: [["command", "must be an array (got a string)"]],
      },
      {
        name: "a command whose program is empty",
        mutate: (m) => {
          m.command = ["", "--size"];
        },
        problems: [["command", "must start with a non-empty program path"]],
      },
      {
        name: "an argument containing a NUL character",
        mutate: (m) => {
          m.command[2] = "25\u00006";
        },
        problems: [["command[2]", "must not contain NUL characters"]],
      },
      {
        name: "a reserved environment variable",
        mutate: (m) => {
          m.env.TASK_INDEX = "7";
        },
        problems: [["env.TASK_INDEX", "is reserved (the worker sets it for each task)"]],
      },
      {
        name: "an environment variable name starting with a digit",
        mutate: (m) => {
          m.env["9LIVES"] = "x";
        },
        problems: [
          [
            'env["9LIVES"]',
            "is not a valid variable name (letters, digits and _, not starting with a digit)",
          ],
        ],
      },
      {
        name: "a numeric environment value",
        mutate: (m) => {
          m.env.ITERATIONS = 500;
        },
        problems: [["env.ITERATIONS", "must be a string (got a number)"]],
      },
      {
        name: "an input path that climbs out of /input",
        mutate: (m) => {
          m.inputs[0].path = "data/../../etc";
        },
        problems: [["inputs[0].path", "must not contain . or .. segments"]],
      },
      {
        name: "an absolute input path",
        mutate: (m) => {
          m.inputs[0].path = "/data";
        },
        problems: [
          [
            "inputs[0].path",
            "must be a relative path of plain names (letters, digits, . _ -) separated by /, like data or models/v1",
          ],
        ],
      },
      {
        name: "an input mounted inside another",
        mutate: (m) => {
          m.inputs.push({ cid: CID, path: "data/extra" });
        },
        problems: [["inputs[1].path", 'overlaps inputs[0].path ("data")']],
      },
      {
        name: "an input CID that is not a CIDv1",
        mutate: (m) => {
          m.inputs[0].cid = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
        },
        problems: [["inputs[0].cid", "must be a CIDv1 (base32, sha2-256, raw or dag-pb)"]],
      },
      {
        name: "a local input source in a resolved manifest",
        mutate: (m) => {
          m.inputs[0] = { source: "./data", path: "data" };
        },
        problems: [
          ["inputs[0].cid", "is required"],
          [
            "inputs[0].source",
            "is only allowed in a source manifest; the resolved form has inputs[].cid",
          ],
        ],
      },
      {
        name: "a source input with neither cid nor source",
        form: "source",
        mutate: (m) => {
          m.inputs[0] = { path: "data" };
        },
        problems: [["inputs[0].source", "is required (or give cid)"]],
      },
      {
        name: "zero tasks",
        mutate: (m) => {
          m.tasks = { count: 0 };
        },
        problems: [["tasks.count", "must be ≥ 1"]],
      },
      {
        name: "a fractional task count",
        mutate: (m) => {
          m.tasks = { count: 1.5 };
        },
        problems: [["tasks.count", "must be an integer"]],
      },
      {
        name: "more tasks than the protocol allows",
        mutate: (m) => {
          m.tasks = { count: 1_000_001 };
        },
        problems: [["tasks.count", "must be ≤ 1000000"]],
      },
      {
        name: "per-task arguments that do not match the task count",
        mutate: (m) => {
          m.tasks.args.pop();
        },
        problems: [["tasks.args", "has 3 entries but tasks.count is 4"]],
      },
      {
        name: "a missing CPU requirement",
        mutate: (m) => {
          delete m.resources.cpuMillicores;
        },
        problems: [["resources.cpuMillicores", "is required"]],
      },
      {
        name: "a CPU requirement beyond uint32",
        mutate: (m) => {
          m.resources.cpuMillicores = 2 ** 32;
        },
        problems: [["resources.cpuMillicores", "must be ≤ 4294967295"]],
      },
      {
        name: "less memory than Docker accepts",
        mutate: (m) => {
          m.resources.memoryMiB = 4;
        },
        problems: [["resources.memoryMiB", "must be ≥ 6"]],
      },
      {
        name: "a misspelt resource field",
        mutate: (m) => {
          m.resources.memoryMb = 256;
        },
        problems: [["resources.memoryMb", "is not a known field (check its spelling)"]],
      },
      {
        name: "a task timeout longer than the execution window",
        mutate: (m) => {
          m.resources.timeoutSeconds = 601;
        },
        problems: [
          [
            "resources.timeoutSeconds",
            "must not exceed windows.executionSeconds (600): a task that may run longer could never be committed in time",
          ],
        ],
      },
      {
        name: "a replication above the protocol's maximum",
        mutate: (m) => {
          m.replication = { k: 9, quorum: 5 };
        },
        problems: [["replication.k", "must be ≤ 8"]],
      },
      {
        name: "a quorum of half of k or less",
        mutate: (m) => {
          m.replication.quorum = 1;
        },
        problems: [["replication.quorum", "must be more than half of k (k = 3, so ≥ 2)"]],
      },
      {
        name: "a quorum larger than k",
        mutate: (m) => {
          m.replication.quorum = 4;
        },
        problems: [["replication.quorum", "must be at most k (3)"]],
      },
      {
        name: "a price written as a number",
        mutate: (m) => {
          m.price.maxPerTaskReplica = 1.5;
        },
        problems: [
          [
            "price.maxPerTaskReplica",
            'must be a quoted decimal string like "1.5" (so no precision is lost), not a number',
          ],
        ],
      },
      {
        name: "a price with more than 18 decimals",
        mutate: (m) => {
          m.price.maxPerTaskReplica = "0.1234567890123456789";
        },
        problems: [
          [
            "price.maxPerTaskReplica",
            'must be a decimal number of CONUN with at most 18 decimals, like "1.5" (got "0.1234567890123456789")',
          ],
        ],
      },
      {
        name: "a zero maximum price",
        mutate: (m) => {
          m.price.maxPerTaskReplica = "0.0";
        },
        problems: [["price.maxPerTaskReplica", "must be more than 0"]],
      },
      {
        // JobMarketStakeTooLow on chain: a winner that never serves would lose less than it earns.
        name: "a stake below the maximum price",
        mutate: (m) => {
          m.price.maxPerTaskReplica = "1.5";
          m.price.stakePerTaskReplica = "1.499999999999999999";
        },
        problems: [
          [
            "price.stakePerTaskReplica",
            "must be at least maxPerTaskReplica (1.5), so a provider that never serves loses more than it could earn; raise the stake or lower the max price",
          ],
        ],
      },
      {
        name: "no stake",
        mutate: (m) => {
          m.price.stakePerTaskReplica = "0";
        },
        problems: [["price.stakePerTaskReplica", "must be more than 0"]],
      },
      {
        name: "a stake that does not fit the protocol's uint96",
        mutate: (m) => {
          m.price.stakePerTaskReplica = "79228162514.264337593543950336";
        },
        problems: [
          [
            "price.stakePerTaskReplica",
            "must be at most 79228162514.264337593543950335 (the protocol stores it as a uint96 of 18-decimal units)",
          ],
        ],
      },
      {
        name: "a bidding window longer than 7 days",
        mutate: (m) => {
          m.windows.biddingSeconds = 7 * 24 * 3600 + 1;
        },
        problems: [["windows.biddingSeconds", "must be ≤ 604800 (7 days)"]],
      },
      {
        name: "an execution window longer than 14 days",
        mutate: (m) => {
          m.windows.executionSeconds = 14 * 24 * 3600 + 1;
        },
        problems: [["windows.executionSeconds", "must be ≤ 1209600 (14 days)"]],
      },
      {
        name: "a zero reveal window",
        mutate: (m) => {
          m.windows.revealSeconds = 0;
        },
        problems: [["windows.revealSeconds", "must be ≥ 1"]],
      },
      {
        name: "a misspelt top-level section",
        mutate: (m) => {
          m.replicaton = m.replication;
          delete m.replication;
        },
        problems: [
          ["replication", "is required"],
          ["replicaton", "is not a known field (check its spelling)"],
        ],
      },
      {
        name: "a manifest that is an array",
        mutate: () => [valid()],
        problems: [["", "must be an object (got an array)"]],
      },
      {
        name: "text that is neither JSON nor YAML",
        form: "source",
        mutate: () => "version: 1\n  name: [unclosed",
        problems: [["", "is neither valid JSON nor valid YAML"]],
      },
      {
        name: "YAML text given as a resolved manifest",
        mutate: () => "version: 1\nname: tiles\n",
        problems: [["", "is not valid JSON"]],
      },
    ];

    it("reports a manifest too large for workers to read (200 000 per-task arguments)", () => {
      const manifest = valid();
      manifest.tasks = {
        count: 200_000,
        args: Array.from({ length: 200_000 }, (_, i) => ["--tile", String(i)]),
      };
      const problems = problemsOf(manifest);
      expect(problems).to.have.length(1);
      expect(problems[0]?.[0]).to.equal("");
      expect(problems[0]?.[1]).to.match(
        /^is \d+ bytes serialized, more than the 1048576 workers accept: move per-task data/,
      );
    });

    for (const testCase of cases) {
      it(`reports ${testCase.name}`, () => {
        const manifest = valid();
        const replaced = testCase.mutate(manifest);
        const input = replaced === undefined ? manifest : replaced;
        const problems = problemsOf(input, testCase.form);
        if (typeof input === "string") {
          // Parser messages vary by library version: the path and our sentence are exact.
          expect(problems).to.have.length(1);
          expect(problems[0]?.[0]).to.equal(testCase.problems[0]?.[0]);
          expect(problems[0]?.[1].startsWith(testCase.problems[0]?.[1] ?? "?")).to.equal(true);
        } else {
          expect(problems).to.deep.equal(testCase.problems);
        }
      });
    }

    it("has at least 25 cases", () => {
      expect(cases.length).to.be.at.least(25);
    });
  });
});

describe("serializeManifest", () => {
  it("gives the same bytes whatever order the object's keys were built in", () => {
    const a = parseManifest(valid());
    const shuffled = Object.fromEntries(Object.entries(valid()).reverse());
    shuffled.resources = Object.fromEntries(Object.entries(shuffled.resources).reverse());
    shuffled.env = { ZED: "1", ALPHA: "2" };
    const b = { ...valid(), env: { ALPHA: "2", ZED: "1" } };
    expect(serializeManifest(parseManifest(shuffled))).to.equal(
      serializeManifest(parseManifest(b)),
    );
    expect(serializeManifest(a)).to.equal(serializeManifest(parseManifest(valid())));
  });

  it("writes keys in schema order, env sorted, defaults explicit, one trailing newline", () => {
    const minimal = valid();
    delete minimal.resources.pids;
    minimal.env = { B: "2", A: "1" };
    const text = serializeManifest(parseManifest(minimal));
    expect(text.endsWith("}\n")).to.equal(true);
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).to.deep.equal([
      "version",
      "name",
      "description",
      "deterministic",
      "image",
      "command",
      "env",
      "inputs",
      "tasks",
      "resources",
      "replication",
      "price",
      "windows",
    ]);
    expect(Object.keys(parsed.env)).to.deep.equal(["A", "B"]);
    expect(parsed.resources.pids).to.equal(256);
  });

  it("round-trips: parsing the serialized bytes gives the same manifest and bytes", () => {
    const manifest = parseManifest(valid());
    const bytes = manifestBytes(manifest);
    const again = parseManifest(bytes);
    expect(again).to.deep.equal(manifest);
    expect(manifestBytes(again)).to.deep.equal(bytes);
    expect(manifestDigest(bytes)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("refuses to serialize an invalid manifest", () => {
    const manifest = parseManifest(valid());
    (manifest.tasks as { count: number }).count = 0;
    expect(() => serializeManifest(manifest)).to.throw();
  });
});

describe("examples/pi-sweep", () => {
  it("has source manifests (YAML and JSON) that validate", async () => {
    const yaml = parseManifest(await readFile("examples/pi-sweep/manifest.yaml", "utf8"), {
      form: "source",
    });
    expect(yaml.image).to.deep.equal({ archive: "./busybox.tar" });
    expect(yaml.tasks.count).to.equal(8);
    const json = parseManifest(await readFile("examples/pi-sweep/convergence.json", "utf8"), {
      form: "source",
    });
    expect(json.tasks.args).to.have.length(5);
  });

  it("has a resolved manifest that is the source one with CIDs, the code's CID being real", async () => {
    const resolved = parseManifest(await readFile("examples/pi-sweep/manifest.resolved.json"));
    const source = parseManifest(await readFile("examples/pi-sweep/manifest.yaml", "utf8"), {
      form: "source",
    });
    expect(resolved.inputs[0]?.cid).to.equal(await cidOfDirectory("examples/pi-sweep/code"));
    const { image: _a, inputs: _b, ...resolvedRest } = resolved;
    const { image: _c, inputs: _d, ...sourceRest } = source;
    expect(resolvedRest).to.deep.equal(sourceRest);
  });
});
