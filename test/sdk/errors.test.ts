import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { RequesterError } from "../../requester/errors.ts";
import { ChainError } from "../../sdk/chain/errors.ts";
import { ContentError } from "../../sdk/content/errors.ts";
import {
  ConunError,
  describeError,
  type ErrorCode,
  errorCatalog,
  errorCodes,
  isConunError,
} from "../../sdk/errors.ts";
import { ManifestError } from "../../sdk/manifest/errors.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** The product code: every folder that may define an error domain. */
const PRODUCT = ["sdk", "worker", "requester", "auditor", "app", "subgraph-host", "devnet"];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (["node_modules", "dist"].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(full)));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(full);
  }
  return files;
}

/** Product files with their text, read once. */
async function productSources(): Promise<{ file: string; text: string }[]> {
  const files = (await Promise.all(PRODUCT.map((dir) => sourceFiles(path.join(ROOT, dir))))).flat();
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, "utf8") })));
}

/** Domains a file registers: `errorClass("d", ...)` (or the lower-level `errorCodes("d", ...)`). */
function domainsRegisteredIn(text: string): string[] {
  return [...text.matchAll(/error(?:Class|Codes)\(\s*"([^"]+)"/g)].map((m) => m[1] as string);
}

/** Domains a file declares for the compiler: `extends Record<"d", …>` or a `d: …` member. */
function domainsDeclaredIn(text: string): string[] {
  const start = text.indexOf("interface ConunErrorDomains");
  if (start < 0) return [];
  const end = text.indexOf("}", start);
  const block = text.slice(start, end);
  const members = [...block.matchAll(/^\s*"?([\w-]+)"?\s*:/gm)];
  const records = [...block.matchAll(/Record<"([^"]+)"/g)];
  return [...members, ...records].map((m) => m[1] as string);
}

/** A domain's class (`errorClass` gives it static `domain` and `codes`) or code list. */
function codeListOf(name: string, value: unknown): { domain: string; codes: string[] } | undefined {
  if (typeof value === "function") {
    const { domain, codes } = value as { domain?: unknown; codes?: unknown };
    if (typeof domain === "string" && Array.isArray(codes)) return { domain, codes };
  }
  if (name.endsWith("_ERROR_CODES") && Array.isArray(value)) return { domain: name, codes: value };
  return undefined;
}

describe("sdk/errors", () => {
  describe("isConunError", () => {
    it("is true for the code an error carries and false for any other code", () => {
      const error = new ContentError("content-mismatch", "bytes do not match");
      expect(isConunError(error, "content-mismatch")).to.equal(true);
      expect(isConunError(error, "content-not-found")).to.equal(false);
      expect(isConunError(error)).to.equal(true);
    });

    it("is false for things that are not ConunErrors, even with a matching code", () => {
      const lookalike = Object.assign(new Error("nope"), { code: "content-mismatch" });
      expect(isConunError(lookalike, "content-mismatch")).to.equal(false);
      expect(isConunError({ code: "content-mismatch" }, "content-mismatch")).to.equal(false);
      expect(isConunError(undefined)).to.equal(false);
      expect(isConunError("content-mismatch")).to.equal(false);
    });

    it("narrows to the class that carries the code", () => {
      const thrown: unknown[] = [
        new ChainError("tx-reverted", "reverted", {
          revert: { name: "JobMarketBidTooHigh", args: [], signature: "x", data: "0x" },
        }),
        new ManifestError([{ path: "tasks.count", message: "must be ≥ 1" }]),
        new RequesterError("wrong-network", "no deployment"),
      ];
      const seen: string[] = [];
      for (const error of thrown) {
        // Each branch uses a member only that class has: this compiles only if the type narrows.
        if (isConunError(error, "tx-reverted")) seen.push(error.revert?.name ?? "");
        if (isConunError(error, "manifest-invalid")) seen.push(error.problems[0]?.path ?? "");
        if (isConunError(error, "wrong-network")) {
          const code: RequesterError["code"] = error.code;
          seen.push(code);
        }
      }
      expect(seen).to.deep.equal(["JobMarketBidTooHigh", "tasks.count", "wrong-network"]);
    });

    it("takes only codes of the catalog", () => {
      const codes: ErrorCode[] = ["content-mismatch", "tx-failed", "config-invalid"];
      // @ts-expect-error — not a code of any domain.
      expect(isConunError(new Error("x"), "no-such-code")).to.equal(false);
      expect(codes).to.have.length(3);
    });
  });

  it("describes an error as its message and its code", () => {
    expect(describeError(new ContentError("invalid-cid", "not a CID: x"))).to.equal(
      "not a CID: x [invalid-cid]",
    );
    expect(describeError(new Error("plain"))).to.equal("plain");
    expect(describeError(7)).to.equal("7");
  });

  it("keeps the cause, the details and the class name", () => {
    const cause = new Error("disk full");
    const error = new ContentError("content-too-large", "too big", { cause, details: { n: 1 } });
    expect(error).to.be.instanceOf(ConunError);
    expect(error.cause).to.equal(cause);
    expect(error.details).to.deep.equal({ n: 1 });
    expect(error.name).to.equal("ContentError");
  });

  describe("the catalog", () => {
    it("refuses a code that already belongs to another domain", () => {
      expect(() => errorCodes("test-domain", ["content-mismatch"] as const)).to.throw(
        TypeError,
        '"content-mismatch" belongs to both "content" and "test-domain"',
      );
      // A domain loaded twice (a module evaluated again) is not a collision.
      expect(errorCodes("content", ["content-mismatch"] as const)).to.deep.equal([
        "content-mismatch",
      ]);
    });

    it("holds every domain of the product code, each code once and in kebab-case", async () => {
      const sources = await productSources();
      const defining = sources.filter(
        ({ file, text }) =>
          file !== path.join(ROOT, "sdk/errors.ts") && domainsRegisteredIn(text).length > 0,
      );
      const expected = defining.flatMap(({ text }) => domainsRegisteredIn(text));
      // Loading a module registers its domains; a code in two domains would throw here.
      const lists = new Map<string, string[]>();
      for (const { file } of defining) {
        const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        for (const [name, value] of Object.entries(module)) {
          const list = codeListOf(name, value);
          if (list !== undefined) lists.set(list.domain, list.codes);
        }
      }
      const catalog = errorCatalog();
      expect([...new Set(catalog.values())].sort()).to.include.members(expected);
      expect(new Set(expected).size, "a domain name is used twice").to.equal(expected.length);
      const owners = new Map<string, string[]>();
      for (const [domain, codes] of lists) {
        for (const code of codes) owners.set(code, [...(owners.get(code) ?? []), domain]);
      }
      const shared = [...owners].filter(([, domains]) => domains.length > 1);
      expect(shared, "codes declared by two domains").to.deep.equal([]);
      for (const [code, domain] of catalog) {
        if (domain === "test-domain") continue;
        expect(code, `${domain}'s code`).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      }
      expect(owners.size).to.be.greaterThan(100);
    });

    it("has every registered domain declared for the compiler in the same file", async () => {
      for (const { file, text } of await productSources()) {
        if (file === path.join(ROOT, "sdk/errors.ts")) continue;
        expect(domainsDeclaredIn(text).sort(), path.relative(ROOT, file)).to.deep.equal(
          domainsRegisteredIn(text).sort(),
        );
      }
    });

    it("leaves no error class of the product code outside the base", async () => {
      const outside = (await productSources()).flatMap(({ file, text }) =>
        [...text.matchAll(/class (\w+) extends (?:Error|TypeError|RangeError)\b/g)].map(
          (m) => `${path.relative(ROOT, file)}: ${m[1]}`,
        ),
      );
      expect(outside).to.deep.equal([]);
    });
  });
});
