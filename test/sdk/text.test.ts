import { expect } from "chai";
import { createLogger } from "../../sdk/logger.ts";
import { escapeJsonText, escapeUntrusted, tailOf } from "../../sdk/text.ts";
import { controlCharacters } from "../helpers/text.ts";

describe("text#escapeUntrusted", () => {
  it("writes ANSI escapes, CR, backspace, BEL and tabs as visible escapes", () => {
    expect(escapeUntrusted("\x1b[31mred\x1b[0m\r\bbell\x07\tend")).to.equal(
      "\\x1b[31mred\\x1b[0m\\r\\x08bell\\x07\\tend",
    );
  });

  it("escapes C1 controls, DEL, bidi overrides and isolates, and lone surrogates", () => {
    expect(escapeUntrusted("a\u009b2Jb\u007fc\u202eevil\u2066d\ud800e")).to.equal(
      "a\\x9b2Jb\\x7fc\\u202eevil\\u2066d\\ud800e",
    );
  });

  it("keeps printable text of every script, emoji and their joiners", () => {
    const text = 'Grüße, 世界 — ok! 👨‍👩‍👧 {"a": [1]} C:\\path';
    expect(escapeUntrusted(text)).to.equal(text);
  });

  it("escapes newlines unless asked to keep them, so a value stays one line", () => {
    expect(escapeUntrusted("one\ntwo")).to.equal("one\\ntwo");
    expect(escapeUntrusted("one\ntwo\x1b", { multiline: true })).to.equal("one\ntwo\\x1b");
  });

  it("is idempotent: escaped text escapes to itself", () => {
    const once = escapeUntrusted("\x1b]0;title\x07\u202e\r\n");
    expect(escapeUntrusted(once)).to.equal(once);
    expect(controlCharacters(once)).to.deep.equal([]);
  });
});

describe("text#tailOf", () => {
  it("keeps the last lines, marking the cut, and drops a trailing newline", () => {
    expect(tailOf("a\nb\nc\nd\n", { maxBytes: 100, maxLines: 2 })).to.equal("…c\nd");
    expect(tailOf("a\nb\n", { maxBytes: 100, maxLines: 2 })).to.equal("a\nb");
  });

  it("keeps at most maxBytes of UTF-8, mark included, never half a character", () => {
    const tail = tailOf("é".repeat(1000), { maxBytes: 101, maxLines: 20 });
    expect(new TextEncoder().encode(tail).length).to.be.at.most(101);
    expect(tail).to.match(/^…é+$/);
    expect(tailOf("short", { maxBytes: 5, maxLines: 1 })).to.equal("short");
  });
});

describe("text#escapeJsonText", () => {
  it("escapes what JSON.stringify leaves raw, and the JSON still means the same", () => {
    const value = { msg: "a\u009b31m\u202eb\x1b" };
    const json = escapeJsonText(JSON.stringify(value));
    expect(json).to.equal('{"msg":"a\\u009b31m\\u202eb\\u001b"}');
    expect(JSON.parse(json)).to.deep.equal(value);
  });
});

describe("logger output of untrusted text", () => {
  it("never writes a control character, in human or JSON lines", () => {
    const lines: string[] = [];
    for (const json of [false, true]) {
      const log = createLogger({ json, write: (line) => lines.push(line) });
      log.warn("bundle \x1b[2J unusable", {
        error: "duplicate entry \x1b[31mX\u009b (bundle)",
        name: "\x1b]0;pwned\x07",
      });
    }
    expect(lines).to.have.length(2);
    for (const line of lines) expect(controlCharacters(line)).to.deep.equal([]);
    expect(lines[0]).to.contain("bundle \\x1b[2J unusable");
    expect(lines[0]).to.contain("name=\\x1b]0;pwned\\x07");
    expect(JSON.parse(lines[1] as string).error).to.equal(
      "duplicate entry \x1b[31mX\u009b (bundle)",
    );
  });
});
