import { errorClass } from "../errors.ts";

declare module "../errors.ts" {
  interface ConunErrorDomains extends Record<"manifest", ManifestError> {}
}

/** One problem in a manifest: where (`tasks.count`, `inputs[0].path`) and what. */
export interface ManifestProblem {
  path: string;
  message: string;
}

/**
 * A manifest that cannot be used, with every problem found (not just the first), so a
 * requester fixes them all in one go. `message` is `invalid manifest: <path>: <message>` for one
 * problem, else a count and the problems one per line. Its one code is `manifest-invalid`.
 */
export class ManifestError extends errorClass("manifest", ["manifest-invalid"]) {
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
