import { parse as parseYaml } from "yaml";
import type { z } from "zod/v4";
import { ManifestError, type ManifestProblem } from "./errors.ts";
import { LIMITS } from "./limits.ts";
import {
  type Manifest,
  resolvedManifestSchema,
  type SourceManifest,
  sourceManifestSchema,
} from "./schema.ts";

export type ManifestForm = "source" | "resolved";

/**
 * Validates a manifest and returns it typed, with defaults applied; throws a ManifestError
 * listing every problem by path otherwise.
 *
 * `form: "resolved"` (the default, what workers read) accepts CIDs only and JSON text only:
 * the resolved manifest's exact bytes are what the chain's digest covers, and JSON is what
 * the tools write. `form: "source"` (what requesters write) also accepts local files
 * (`image.archive`, `inputs[].source`) and YAML.
 */
export function parseManifest(
  input: string | Uint8Array | unknown,
  options?: { form?: "resolved" },
): Manifest;
export function parseManifest(
  input: string | Uint8Array | unknown,
  options: { form: "source" },
): SourceManifest;
export function parseManifest(
  input: string | Uint8Array | unknown,
  options: { form?: ManifestForm } = {},
): Manifest | SourceManifest {
  const form = options.form ?? "resolved";
  const value = decode(input, form);
  const schema = form === "source" ? sourceManifestSchema : resolvedManifestSchema;
  const result = schema.safeParse(value, { error: describeIssue });
  const problems = result.success ? [] : result.error.issues.flatMap(toProblems);
  problems.push(...crossChecks(value, form));
  if (problems.length > 0) throw new ManifestError(sortProblems(problems));
  const manifest = (result as { data: Manifest | SourceManifest }).data;
  const size = new TextEncoder().encode(JSON.stringify(manifest, null, 2)).length;
  if (size > LIMITS.maxManifestBytes) {
    throw new ManifestError([
      {
        path: "",
        message: `is ${size} bytes serialized, more than the ${LIMITS.maxManifestBytes} workers accept: move per-task data (tasks.args) into an input file and derive it from TASK_INDEX`,
      },
    ]);
  }
  return manifest;
}

/** Like parseManifest, but returns the problems instead of throwing. */
export function validateManifest(
  input: string | Uint8Array | unknown,
  options: { form?: ManifestForm } = {},
): ManifestProblem[] {
  try {
    parseManifest(input, options as { form: "source" });
    return [];
  } catch (error) {
    if (error instanceof ManifestError) return error.problems;
    throw error;
  }
}

function decode(input: unknown, form: ManifestForm): unknown {
  let text: string;
  if (input instanceof Uint8Array) {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch (error) {
      throw new ManifestError([{ path: "", message: "is not valid UTF-8 text" }], {
        cause: error,
      });
    }
  } else if (typeof input === "string") {
    text = input;
  } else {
    return input;
  }
  try {
    return JSON.parse(text);
  } catch (jsonError) {
    if (form === "resolved") {
      throw new ManifestError(
        [{ path: "", message: `is not valid JSON (${(jsonError as Error).message})` }],
        { cause: jsonError },
      );
    }
    try {
      // uniqueKeys (the default) rejects duplicate keys, which JSON.parse would silently merge.
      return parseYaml(text, { prettyErrors: false });
    } catch (yamlError) {
      throw new ManifestError(
        [
          {
            path: "",
            message: `is neither valid JSON nor valid YAML (${(yamlError as Error).message.split("\n")[0]})`,
          },
        ],
        { cause: yamlError },
      );
    }
  }
}

/** Messages for the issues whose schema did not give one: phrased as the end of
 * "<path>: …". */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if (issue.expected === "int" && typeof issue.input === "number") return "must be an integer";
      return `must be ${article(issue.expected)} (got ${typeName(issue.input)})`;
    case "too_small":
      if (issue.origin === "array") return `must have at least ${issue.minimum} entries`;
      if (issue.origin === "string") return `must have at least ${issue.minimum} characters`;
      return `must be ≥ ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "array") return `must have at most ${issue.maximum} entries`;
      if (issue.origin === "string") return `must have at most ${issue.maximum} characters`;
      return `must be ≤ ${issue.maximum}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  if (expected === "int") return "an integer";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return article(typeof value);
}

function toProblems(issue: z.core.$ZodIssue): ManifestProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: "is not a known field (check its spelling)",
    }));
  }
  if (issue.code === "invalid_key") {
    return issue.issues.map((inner) => ({
      path: formatPath(issue.path),
      message: inner.message,
    }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/** Checks that span sections (zod checks each section on its own). */
function crossChecks(value: unknown, form: ManifestForm): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const get = (object: unknown, key: string): unknown =>
    object !== null && typeof object === "object"
      ? (object as Record<string, unknown>)[key]
      : undefined;
  const timeout = get(get(value, "resources"), "timeoutSeconds");
  const execution = get(get(value, "windows"), "executionSeconds");
  if (
    Number.isInteger(timeout) &&
    Number.isInteger(execution) &&
    (timeout as number) > (execution as number)
  ) {
    problems.push({
      path: "resources.timeoutSeconds",
      message: `must not exceed windows.executionSeconds (${execution}): a task that may run longer could never be committed in time`,
    });
  }
  if (form === "resolved") {
    const image = get(value, "image");
    if (get(image, "archive") !== undefined) {
      problems.push({
        path: "image.archive",
        message:
          "is only allowed in a source manifest; the resolved form has image.ref and image.id",
      });
    }
    const inputs = get(value, "inputs");
    if (Array.isArray(inputs)) {
      inputs.forEach((input, i) => {
        if (get(input, "source") !== undefined) {
          problems.push({
            path: `inputs[${i}].source`,
            message: "is only allowed in a source manifest; the resolved form has inputs[].cid",
          });
        }
      });
    }
  }
  return problems;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) {
      out += out === "" ? part : `.${part}`;
    } else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** Problems in document order of their top-level field, then by path, without duplicates
 * (a field outside the resolved form is reported both as unknown and by crossChecks). */
function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  const order = [...Object.keys(sourceManifestSchema.shape), ""];
  const rank = (path: string) => {
    const top = path.split(/[.[]/)[0] ?? "";
    const index = order.indexOf(top);
    return index === -1 ? order.length : index;
  };
  const unknown = (p: ManifestProblem) => p.message.startsWith("is not a known field");
  const specific = new Set(problems.filter((p) => !unknown(p)).map((p) => p.path));
  const seen = new Map<string, ManifestProblem>();
  for (const problem of problems) {
    if (unknown(problem) && specific.has(problem.path)) continue;
    seen.set(`${problem.path}\u0000${problem.message}`, problem);
  }
  // Within a section, entries of a list in index order (their cross-entry checks run last).
  const index = (path: string) => Number(/^[A-Za-z]+\[(\d+)\]/.exec(path)?.[1] ?? -1);
  return [...seen.values()].sort(
    (a, b) => rank(a.path) - rank(b.path) || index(a.path) - index(b.path),
  );
}
