/**
 * The one error catalog of CONUN's TypeScript code, after ethers v6's `ErrorCode` and
 * `isError(e, code)`. Every error a user can see is a ConunError carrying a machine-readable
 * `code` (stable, kebab-case, e.g. `config-invalid`, `content-mismatch`) and the `cause` it
 * wraps, so logs and CLIs can show both a sentence and something to grep for.
 *
 * Each domain (content, chain, manifest, results, requester, the worker's config, ...) has one
 * error class built by `errorClass(domain, codes)`, whose codes are a closed union, and names
 * itself for the compiler with one line of declaration merging:
 *
 * ```ts
 * declare module "../errors.ts" {
 *   interface ConunErrorDomains extends Record<"content", ContentError> {}
 * }
 * export class ContentError extends errorClass("content", ["content-not-found", ...]) {}
 * ```
 *
 * A code belongs to exactly one domain: two domains declaring the same code fail to compile
 * (`CodesAreUnique` below names the code) and throw when both are loaded (`errorCodes`). So
 * `isConunError(e, "content-mismatch")` can narrow `e` to the class that carries the code.
 * The sdk lists no component's codes itself (it imports no component); components add their
 * domains from their own files.
 */

/**
 * Domain name → the error class carrying that domain's codes. Empty here; every domain adds
 * its entry with `declare module` (declaration merging), next to its class.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each domain.
export interface ConunErrorDomains {}

/** A domain of the catalog: `content`, `chain`, `worker-config`, ... */
export type ErrorDomain = keyof ConunErrorDomains;

/** The codes of one domain. */
export type ErrorCodeOf<D extends ErrorDomain> = ConunErrorDomains[D] extends {
  readonly code: infer C extends string;
}
  ? C
  : never;

/** Every code of every domain the program includes: a closed union, like ethers' ErrorCode. */
export type ErrorCode = { [D in ErrorDomain]: ErrorCodeOf<D> }[ErrorDomain];

/** The error class that carries `C` (like ethers' `CodedEthersError<T>`). */
export type ErrorOf<C extends ErrorCode> = {
  [D in ErrorDomain]: ConunErrorDomains[D] extends infer E
    ? E extends { readonly code: infer K }
      ? C extends K
        ? E
        : never
      : never
    : never;
}[ErrorDomain];

/** Codes that two domains both declare; must be `never`. */
type CodesInTwoDomains = {
  [D in ErrorDomain]: ErrorCodeOf<D> &
    { [E in Exclude<ErrorDomain, D>]: ErrorCodeOf<E> }[Exclude<ErrorDomain, D>];
}[ErrorDomain];
type MustBeNever<T extends never> = T;
/**
 * The compile-time uniqueness check: when two domains declare the same code, tsc reports here
 * `Type '"<the code>"' does not satisfy the constraint 'never'`.
 */
export type CodesAreUnique = MustBeNever<CodesInTwoDomains>;

/**
 * The base class. Abstract: a code always comes from a domain's class, never from the base.
 * `Code` is the domain's union; `ConunError` alone means any error of the catalog.
 */
export abstract class ConunError<Code extends string = ErrorCode> extends Error {
  readonly code: Code;
  /** Structured details for logs (never secrets). */
  readonly details: Record<string, unknown>;

  constructor(
    code: Code,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `error` is a ConunError carrying `code`, narrowed to the class that carries it. */
export function isConunError<C extends ErrorCode>(error: unknown, code: C): error is ErrorOf<C>;
/** True when `error` is a ConunError of any code. */
export function isConunError(error: unknown): error is ConunError;
export function isConunError(error: unknown, code?: string): boolean {
  return error instanceof ConunError && (code === undefined || error.code === code);
}

/** code → domain, for every domain loaded so far. */
const catalog = new Map<string, string>();

/**
 * Adds a domain's codes to the running catalog and returns them (typed as given, so the domain's
 * code union is `(typeof CODES)[number]`).
 * @throws TypeError when a code already belongs to another domain: a programming error that
 * tsc reports too (`CodesAreUnique`), caught here for anything the compiler did not see.
 */
export function errorCodes<const Codes extends readonly string[]>(
  domain: string,
  codes: Codes,
): Codes {
  for (const code of codes) {
    const owner = catalog.get(code);
    if (owner !== undefined && owner !== domain) {
      throw new TypeError(`error code "${code}" belongs to both "${owner}" and "${domain}"`);
    }
    catalog.set(code, domain);
  }
  return codes;
}

/**
 * The base class of one domain: registers `codes` under `domain` (see `errorCodes`) and types
 * `code` as their union. The domain's class extends it:
 * `class ResultsError extends errorClass("results", ["bundle-invalid", ...]) {}`.
 */
export function errorClass<const Codes extends readonly string[]>(domain: string, codes: Codes) {
  errorCodes(domain, codes);
  abstract class DomainError extends ConunError<Codes[number]> {
    /** The domain's name in the catalog. */
    static readonly domain: string = domain;
    /** Every code of the domain. */
    static readonly codes: Codes = codes;
  }
  return DomainError;
}

/** The running catalog: code → domain, for every domain loaded so far. */
export function errorCatalog(): ReadonlyMap<string, string> {
  return new Map(catalog);
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof ConunError) return `${error.message} [${error.code}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}
