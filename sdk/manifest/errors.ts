import { ConunError } from "../errors.ts";

/** One problem in a manifest: where (`tasks.count`, `inputs[0].path`) and what. */
export interface ManifestProblem {
  path: string;
  message: string;
}

/**
 * A manifest that cannot be used, with every problem found (not just the first), so a
 * requester fixes them all in one go. `message` lists them one per line.
 */
export class ManifestError extends ConunError {
  readonly problems: ManifestProblem[];

  constructor(problems: ManifestProblem[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `  ${p.path === "" ? "(manifest)" : p.path}: ${p.message}`);
    super(
      "manifest-invalid",
      `invalid manifest (${problems.length} ${problems.length === 1 ? "problem" : "problems"}):\n${lines.join("\n")}`,
      { ...options, details: { problems } },
    );
    this.problems = problems;
  }
}
