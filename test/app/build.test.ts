// The app server rebuilds app/dist when it is missing or older than what it is built from, so
// `npm run demo` and `npm run app:serve` never serve a dApp from before a pulled change.
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { buildIsStale } from "../../app/server.ts";

describe("app/server#buildIsStale", () => {
  let dist: string;
  beforeEach(async () => {
    dist = await mkdtemp(path.join(tmpdir(), "conun-dist-"));
  });
  afterEach(async () => {
    await rm(dist, { recursive: true, force: true });
  });

  it("is stale without a build", async () => {
    expect(await buildIsStale(dist)).to.equal(true);
  });

  it("is stale when the build is older than the app's sources, the SDK or the types", async () => {
    const index = path.join(dist, "index.html");
    await writeFile(index, "<!doctype html>");
    const longAgo = new Date("2001-01-01T00:00:00Z");
    await utimes(index, longAgo, longAgo);
    expect(await buildIsStale(dist)).to.equal(true);
  });

  it("is fresh when the build is newer than every source", async () => {
    const index = path.join(dist, "index.html");
    await writeFile(index, "<!doctype html>");
    const later = new Date(Date.now() + 3_600_000);
    await utimes(index, later, later);
    expect(await buildIsStale(dist)).to.equal(false);
  });
});
