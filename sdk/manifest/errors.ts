import { ConunError, errorCodes } from "../errors.ts";

/** The manifest parser has one code: every problem is listed in `problems`. */
export const MANIFEST_ERROR_CODES = errorCodes("manifest", ["manifest-invalid"] as const);

export type ManifestErrorCode = (typeof MANIFEST_ERROR_CODES)[number];

/** One problem in a manifest: where (`tasks.count`, `inputs[0].path`) and what. */
export interface ManifestProblem {
  path: string;
  message: string;
}

/**
 * A manifest that cannot be used, with every problem found (not just the first), so a
 * requester fixes them all in one go. `message` is `invalid manifest: <path>: <message>` for one
 * problem, else a count and the problems one per line.
 */
export class ManifestError extends ConunError<ManifestErrorCode> {
  readonly problems: ManifestProblem[];

  constructor(problems: ManifestProblem[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `${p.path === "" ? "(manifest)" : p.path}: ${p.message}`);
    // One problem is one line (what a CLI prints as its one-line error); several are a list.
    super(
      "manifest-invalid",
      lines.length === 1
        ? `invalid manifest: ${lines[0]}`
        : `invalid manifest (${problems.length} problems):\n${lines.map((l) => `  ${l}`).join("\n")}`,
      { ...options, details: { problems } },
    );
    this.problems = problems;
  }
}

declare module "../errors.ts" {
  interface ConunErrorDomains {
    manifest: ManifestError;
  }
}
