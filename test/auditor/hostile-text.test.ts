import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { controlCharacters } from "../helpers/text.ts";
import { audit } from "./run-audit.ts";

/** Clears the screen, retitles the terminal, reverses what follows, returns to column 0. */
const HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202eevil\r\u009b31m";
const SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07\\u202eevil\\r\\x9b31m";

describe("auditor/cli.ts with a hostile subgraph", () => {
  let server: Server;
  let url: string;

  before(async () => {
    // Answers every query with a GraphQL error whose message carries escapes.
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: HOSTILE }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/subgraphs/name/conun`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("prints the subgraph's error message escaped, never raw", async () => {
    const run = await audit(["network", "--url", url]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal("");
    expect(controlCharacters(run.stderr, { multiline: true })).to.deep.equal([]);
    expect(run.stderr).to.equal(
      `error: subgraph ${url} answered with an error: ${SHOWN} [subgraph-query-failed]\n`,
    );
  });

  it("prints an argument it refuses escaped", async () => {
    const run = await audit([`net${HOSTILE}`, "--url", url]);
    expect(run.code).to.equal(2);
    expect(controlCharacters(run.stderr, { multiline: true })).to.deep.equal([]);
    expect(run.stderr).to.contain(`error: unknown report "net${SHOWN}"`);
  });
});
