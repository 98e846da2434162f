import { formatUnits, parseUnits } from "ethers";
import { z } from "zod/v4";
import { isValidCid } from "../content/cid.ts";
import { escapeUntrusted } from "../text.ts";
import { DEFAULTS, LIMITS, RESERVED_ENV } from "./limits.ts";

/**
 * The version-1 job manifest as zod schemas: one for the *source* form a requester writes
 * (may name local files: `image.archive`, `inputs[].source`) and one for the *resolved* form
 * stored in the content store and referenced on chain (CIDs only). Messages are written for
 * people: each problem is reported as `<path>: <message>` (see parse.ts), so a message
 * reads as the end of a sentence whose subject is the field.
 */

const DIGEST_HEX = "[0-9a-f]{64}";
/** Docker's reference grammar (distribution/reference), reduced to what a pinned ref needs. */
const DOMAIN =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?";
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?";
export const REGISTRY_REF = new RegExp(
  `^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*${TAG}@sha256:${DIGEST_HEX}$`,
);
export const ARCHIVE_REF = /^ipfs:\/\/(b[a-z2-7]+)$/;
export const IMAGE_ID = new RegExp(`^sha256:${DIGEST_HEX}$`);
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]{1,18})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const INPUT_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** A plain `name[:tag]`, safe to paste into the shell commands a message suggests. */
const PLAIN_REF = new RegExp(`^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*${TAG}$`);

/**
 * One message for a ref without a digest (`busybox:latest`): what to write instead and how to
 * get the values, so the requester need not also be told that `image.id` is missing.
 */
function unpinnedRefProblem(ref: string): string {
  const name = PLAIN_REF.test(ref) ? ref : "<image>";
  const shown = ref.length > 80 ? `${ref.slice(0, 79)}…` : ref;
  return (
    `${escapeUntrusted(JSON.stringify(shown))} is not pinned: pin it by digest as ` +
    `name@sha256:<digest> (after \`docker pull ${name}\`, ` +
    `\`docker inspect --format '{{index .RepoDigests 0}}' ${name}\` prints it and ` +
    `\`docker inspect --format '{{.Id}}' ${name}\` the image.id), or use image.archive ` +
    "(a `docker save` tarball) instead"
  );
}

function imageRefProblem(ref: string): string | undefined {
  const archive = ARCHIVE_REF.exec(ref);
  if (ref.startsWith("ipfs://")) {
    return archive !== null && isValidCid(archive[1] as string)
      ? undefined
      : "must be ipfs:// followed by a CIDv1 (base32, sha2-256) of a `docker save` archive";
  }
  if (!/@sha256:/.test(ref)) return unpinnedRefProblem(ref);
  if (!new RegExp(`@sha256:${DIGEST_HEX}$`).test(ref)) {
    return "must end in @sha256: followed by 64 lowercase hex digits";
  }
  return REGISTRY_REF.test(ref) ? undefined : "is not a valid image name (registry/name@sha256:…)";
}

/** Arguments and values reach execve(2), where a NUL would silently truncate them. */
const noNul = () =>
  z
    .string()
    .max(LIMITS.maxArgumentLength, {
      error: `must be at most ${LIMITS.maxArgumentLength} characters`,
    })
    .refine((s) => !s.includes("\0"), { error: "must not contain NUL characters" });

const int = (min: number, max: number, unit = "") =>
  z
    .int()
    .min(min, { error: `must be ≥ ${min}` })
    .max(max, { error: `must be ≤ ${max}${unit}` });

const MAX_CONUN = formatUnits(LIMITS.maxUint96, 18);

const decimal = (what: string, options: { positive: boolean }) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? "is required"
          : `must be a quoted decimal string like "1.5" (so no precision is lost), not ${typeof issue.input === "number" ? "a number" : "that"}`,
    })
    .regex(DECIMAL, {
      error: (issue) =>
        typeof issue.input === "string"
          ? `must be a decimal number of CONUN with at most 18 decimals, like "1.5" (got ${JSON.stringify(issue.input)})`
          : undefined,
    })
    .refine((value) => !DECIMAL.test(value) || parseUnits(value, 18) <= LIMITS.maxUint96, {
      error: `must be at most ${MAX_CONUN} (the protocol stores it as a uint96 of 18-decimal units)`,
    })
    .refine((value) => !options.positive || !DECIMAL.test(value) || parseUnits(value, 18) > 0n, {
      error: "must be more than 0",
    })
    .describe(what);

/** Both accepted shapes in one pattern, so the JSON Schema can check it too. */
const IMAGE_REF = new RegExp(
  `^(?:${ARCHIVE_REF.source.slice(1, -1)}|${REGISTRY_REF.source.slice(1, -1)})$`,
);

const imageRef = z
  .string()
  .regex(IMAGE_REF, {
    error: (issue) =>
      typeof issue.input === "string"
        ? (imageRefProblem(issue.input) ?? "is not a valid image reference")
        : undefined,
  })
  .refine((ref) => !ARCHIVE_REF.test(ref) || imageRefProblem(ref) === undefined, {
    error: (issue) => imageRefProblem(issue.input as string),
  })
  .describe(
    "The image: `<registry>/<name>@sha256:<64 hex>` (pinned by manifest digest) or `ipfs://<cid>` of a `docker save` tarball.",
  );

const imageId = z
  .string()
  .regex(IMAGE_ID, { error: "must be an image ID: sha256: followed by 64 lowercase hex digits" })
  .describe("The image ID (config digest) the worker checks after pulling or loading the image.");

const resolvedImage = z
  .strictObject({ ref: imageRef, id: imageId })
  .describe("Resolved form: the image reference and its image ID.");

/** Source form: either `{ archive }` (the tools load it, read its ID and upload it) or a
 * resolved `{ ref, id }`. One object with optional fields rather than a union, so each bad
 * field gets its own message instead of one "no union member matched". */
const sourceImage = z
  .strictObject({
    archive: z
      .string()
      .min(1, { error: "must name a local `docker save` tarball" })
      .optional()
      .describe("Source form only: path of a `docker save` tarball, relative to the manifest."),
    ref: imageRef.optional(),
    id: imageId.optional(),
  })
  .superRefine((image, ctx) => {
    if (image.archive !== undefined) {
      if (image.ref !== undefined || image.id !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["archive"],
          message: "cannot be combined with ref or id (the tools derive both from the archive)",
          input: image,
        });
      }
      return;
    }
    // zod hands the refinement the object without the fields that failed, so a ref that was
    // given but is wrong (unpinned, malformed) looks absent here: it already has its one
    // message, which also says how to get the id; nothing more is said about ref or id.
    const refRejected = ctx.issues.some((issue) => issue.path?.[0] === "ref");
    if (refRejected) return;
    if (image.ref === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["ref"],
        message: "is required (or give image.archive)",
        input: image,
      });
      return;
    }
    if (image.id === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["id"],
        message: `is required with image.ref: the image ID, which \`docker inspect --format '{{.Id}}' ${image.ref}\` prints`,
        input: image,
      });
    }
  });

const inputPath = z
  .string()
  .regex(INPUT_PATH, {
    error:
      "must be a relative path of plain names (letters, digits, . _ -) separated by /, like data or models/v1",
  })
  .refine((path) => path.split("/").every((part) => part !== "." && part !== ".."), {
    error: "must not contain . or .. segments",
  })
  .describe("Where the input is mounted, read-only: /input/<path>.");

const cid = z
  .string()
  .refine(isValidCid, { error: "must be a CIDv1 (base32, sha2-256, raw or dag-pb)" })
  .describe("CID of a file or directory in the content store.");

const resolvedInput = z.strictObject({ cid, path: inputPath });

const sourceInput = z
  .strictObject({
    cid: cid.optional(),
    source: z
      .string()
      .min(1, { error: "must name a local file or directory" })
      .optional()
      .describe("Source form only: a local file or directory, relative to the manifest."),
    path: inputPath,
  })
  .superRefine((input, ctx) => {
    if ((input.cid === undefined) === (input.source === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: input.cid === undefined ? ["source"] : ["cid"],
        message:
          input.cid === undefined
            ? "is required (or give cid)"
            : "cannot be combined with source: give one of them",
        input,
      });
    }
  });

/** Inputs are mounted side by side under /input: two on one path, or one inside another,
 * would shadow each other. */
function checkInputPaths(
  inputs: { path: string }[],
  ctx: z.RefinementCtx<{ path: string }[]>,
): void {
  inputs.forEach((input, i) => {
    for (let j = 0; j < i; j++) {
      const other = (inputs[j] as { path: string }).path;
      const overlaps =
        other === input.path ||
        input.path.startsWith(`${other}/`) ||
        other.startsWith(`${input.path}/`);
      if (overlaps) {
        ctx.addIssue({
          code: "custom",
          path: [i, "path"],
          message: `overlaps inputs[${j}].path (${JSON.stringify(other)})`,
          input: input.path,
        });
        return;
      }
    }
  });
}

const env = z
  .record(
    z.string().regex(ENV_NAME, {
      error: "is not a valid variable name (letters, digits and _, not starting with a digit)",
    }),
    noNul(),
  )
  .superRefine((vars, ctx) => {
    for (const name of RESERVED_ENV) {
      if (Object.hasOwn(vars, name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "is reserved (the worker sets it for each task)",
          input: vars[name],
        });
      }
    }
    if (Object.keys(vars).length > LIMITS.maxEnvEntries) {
      ctx.addIssue({
        code: "custom",
        message: `must have at most ${LIMITS.maxEnvEntries} entries`,
        input: vars,
      });
    }
  })
  .describe("Extra environment variables for every task. TASK_INDEX and TASK_COUNT are reserved.");

const tasks = z
  .strictObject({
    count: int(1, LIMITS.maxTaskCount).describe("Number of tasks; task i gets TASK_INDEX=i."),
    args: z
      .array(z.array(noNul()))
      .optional()
      .describe("Optional per-task argv suffix: task i runs command ++ args[i]."),
  })
  .superRefine((value, ctx) => {
    if (value.args !== undefined && value.args.length !== value.count) {
      ctx.addIssue({
        code: "custom",
        path: ["args"],
        message: `has ${value.args.length} ${value.args.length === 1 ? "entry" : "entries"} but tasks.count is ${value.count}`,
        input: value.args,
      });
    }
  });

const resources = z.strictObject({
  cpuMillicores: int(1, LIMITS.maxUint32).describe(
    "CPU per task in thousandths of a core (1000 = one core).",
  ),
  memoryMiB: int(LIMITS.minMemoryMiB, LIMITS.maxUint32).describe(
    "Memory limit per task, MiB (Docker's minimum is 6).",
  ),
  gpuCount: int(0, LIMITS.maxUint16).default(DEFAULTS.gpuCount).describe("GPUs per task."),
  timeoutSeconds: int(1, LIMITS.maxExecutionSeconds).describe(
    "Wall-clock limit per task run; at most windows.executionSeconds.",
  ),
  maxOutputBytes: int(1, LIMITS.maxOutputBytes)
    .default(DEFAULTS.maxOutputBytes)
    .describe("Largest /output a task may write; more fails the task."),
  pids: int(1, LIMITS.maxPids).default(DEFAULTS.pids).describe("Process/thread limit per task."),
});

const replication = z
  .strictObject({
    k: int(1, LIMITS.maxReplication).describe("Providers that run each task."),
    quorum: z.int().describe("Matching results needed: more than half of k, at most k."),
  })
  .superRefine(({ k, quorum }, ctx) => {
    // With k itself out of range its own problem is reported; a quorum rule for it would mislead.
    if (!Number.isInteger(k) || k < 1 || k > LIMITS.maxReplication) return;
    const least = Math.floor(k / 2) + 1;
    if (quorum * 2 <= k) {
      ctx.addIssue({
        code: "custom",
        path: ["quorum"],
        message: `must be more than half of k (k = ${k}, so ≥ ${least})`,
        input: quorum,
      });
    } else if (quorum > k) {
      ctx.addIssue({
        code: "custom",
        path: ["quorum"],
        message: `must be at most k (${k})`,
        input: quorum,
      });
    }
  });

const price = z
  .strictObject({
    maxPerTaskReplica: decimal(
      "Most the requester pays one provider for one task, in CONUN (decimal string).",
      { positive: true },
    ),
    stakePerTaskReplica: decimal(
      "Stake a provider locks per task it takes, in CONUN (decimal string); lost on a wrong or missing result. At least maxPerTaskReplica.",
      { positive: true },
    ),
  })
  .superRefine(({ maxPerTaskReplica, stakePerTaskReplica }, ctx) => {
    // JobMarket refuses a stake below the max price (JobMarketStakeTooLow): a provider that
    // wins and never serves must lose more than it could have earned.
    if (!DECIMAL.test(maxPerTaskReplica) || !DECIMAL.test(stakePerTaskReplica)) return;
    const stake = parseUnits(stakePerTaskReplica, 18);
    // A zero stake already reads "must be more than 0".
    if (stake === 0n || stake >= parseUnits(maxPerTaskReplica, 18)) return;
    ctx.addIssue({
      code: "custom",
      path: ["stakePerTaskReplica"],
      message: `must be at least maxPerTaskReplica (${maxPerTaskReplica}), so a provider that never serves loses more than it could earn; raise the stake or lower the max price`,
      input: stakePerTaskReplica,
    });
  });

const windows = z.strictObject({
  biddingSeconds: int(1, LIMITS.maxBiddingSeconds, " (7 days)").describe(
    "Seconds from posting during which bids are accepted.",
  ),
  executionSeconds: int(1, LIMITS.maxExecutionSeconds, " (14 days)").describe(
    "Seconds from the award in which results must be committed.",
  ),
  revealSeconds: int(1, LIMITS.maxRevealSeconds, " (3 days)").describe(
    "Seconds after the commit deadline in which results must be revealed.",
  ),
});

function manifestSchema<I extends z.ZodType, N extends z.ZodType<{ path: string }>>(
  image: I,
  input: N,
) {
  return z.strictObject({
    version: z.literal(1, { error: "must be 1 (the only manifest version)" }),
    name: z
      .string()
      .regex(NAME, {
        error: "must start with a letter or digit and use only letters, digits, . _ -",
      })
      .max(LIMITS.maxNameLength, { error: `must be at most ${LIMITS.maxNameLength} characters` }),
    description: z
      .string()
      .max(LIMITS.maxDescriptionLength, {
        error: `must be at most ${LIMITS.maxDescriptionLength} characters`,
      })
      .optional(),
    deterministic: z
      .boolean()
      .default(DEFAULTS.deterministic)
      .describe(
        "Whether identical runs give identical /output. Replicas are compared byte for byte, so a job that is not deterministic cannot reach quorum.",
      ),
    image,
    command: z
      .array(noNul())
      .min(1, { error: "must have at least the program to run" })
      .max(LIMITS.maxCommandEntries, {
        error: `must have at most ${LIMITS.maxCommandEntries} entries`,
      })
      .refine((argv) => argv.length === 0 || argv[0] !== "", {
        error: "must start with a non-empty program path",
      })
      .describe("argv of every task, run without a shell."),
    env: env.optional(),
    inputs: z
      .array(input)
      .max(LIMITS.maxInputs, { error: `must have at most ${LIMITS.maxInputs} entries` })
      .superRefine(checkInputPaths)
      .default([]),
    tasks,
    resources,
    replication,
    price,
    windows,
  });
}

export const resolvedManifestSchema = manifestSchema(resolvedImage, resolvedInput);
export const sourceManifestSchema = manifestSchema(sourceImage, sourceInput);

/** A validated resolved manifest (defaults applied): what workers read. */
export type Manifest = z.output<typeof resolvedManifestSchema>;
/** A validated source manifest (defaults applied): what requesters write. */
export type SourceManifest = z.output<typeof sourceManifestSchema>;
