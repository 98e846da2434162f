/**
 * Text from an untrusted source — a task's stderr, names and messages from a results bundle or
 * a content DAG, anything a job or a provider chose — made safe to show. It must never steer a
 * terminal (ANSI/VT escape sequences start with ESC or a C1 control; a carriage return or a
 * backspace overwrites what is already shown) nor reorder what is shown (Unicode bidi
 * overrides, the "Trojan Source" trick), in a terminal, a log line or the dApp.
 *
 * Pure and free of Node built-ins: the CLI, the worker's logger and the dApp share it.
 */

/**
 * Whether a code point is escaped: C0 controls (tab, CR, backspace, ESC, …; newline too unless
 * multi-line), DEL, C1 controls (U+0080–U+009F: 8-bit CSI, OSC…), the soft hyphen, bidi marks,
 * embeddings, overrides and isolates, the zero-width space and invisible operators, line and
 * paragraph separators, the BOM, interlinear annotation marks, lone UTF-16 surrogates.
 * Everything else — printable ASCII, letters of every script, emoji and their joiners — is
 * kept.
 */
function isUnsafe(code: number, multiline: boolean): boolean {
  if (code === 0x0a) return !multiline;
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0xad ||
    code === 0x61c ||
    code === 0x180e ||
    code === 0x200b ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x206f) ||
    (code >= 0xd800 && code <= 0xdfff) ||
    code === 0xfeff ||
    (code >= 0xfff9 && code <= 0xfffb)
  );
}

const NAMED: Record<number, string> = { 9: "\\t", 10: "\\n", 13: "\\r" };

function escapeCode(code: number): string {
  return (
    NAMED[code] ??
    (code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`)
  );
}

/**
 * `text` with every character that could steer or reorder a display written as a visible
 * escape (`\x1b`, `\r`, `\u202e`…), so `"\x1b[31mred"` is shown as the nine characters
 * `\x1b[31mred`. With `multiline`, newlines are kept (each line is then safe on its own);
 * otherwise they are escaped too and the result is one line. Idempotent: escaping escaped text
 * changes nothing, so a value may be escaped where it is stored and again where it is shown.
 */
export function escapeUntrusted(text: string, options: { multiline?: boolean } = {}): string {
  const multiline = options.multiline === true;
  let out = "";
  // for…of walks code points; a lone surrogate comes out on its own and is escaped.
  for (const char of String(text)) {
    const code = char.codePointAt(0) as number;
    out += isUnsafe(code, multiline) ? escapeCode(code) : char;
  }
  return out;
}

/** How much of the end of a text to keep: at most `maxBytes` of UTF-8 and `maxLines` lines. */
export interface TailBounds {
  maxBytes: number;
  maxLines: number;
}

/** Marks a tail that lost its beginning. */
export const TRUNCATED_MARK = "…";
const MARK_BYTES = new TextEncoder().encode(TRUNCATED_MARK).length;

/**
 * The end of `text` within `bounds`: its last `maxLines` lines, then at most `maxBytes` bytes
 * of UTF-8 (never half a character), the `…` that marks a cut included. A trailing newline
 * does not count as a line of its own and is dropped.
 */
export function tailOf(text: string, bounds: TailBounds): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  let lines = body.split("\n");
  let cut = false;
  if (lines.length > bounds.maxLines) {
    lines = lines.slice(lines.length - Math.max(0, bounds.maxLines));
    cut = true;
  }
  let tail = lines.join("\n");
  const bytes = new TextEncoder().encode(tail);
  if (bytes.length + (cut ? MARK_BYTES : 0) > bounds.maxBytes) {
    let start = bytes.length - Math.max(0, bounds.maxBytes - MARK_BYTES);
    // Skip UTF-8 continuation bytes, so the kept part starts on a character boundary.
    while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
    tail = new TextDecoder().decode(bytes.subarray(start));
    cut = true;
  }
  return cut ? `${TRUNCATED_MARK}${tail}` : tail;
}

/**
 * Serialized JSON with the characters `JSON.stringify` leaves raw but a terminal may act on
 * (C1 controls, bidi overrides, …) written as `\uXXXX` escapes. The JSON means exactly the same
 * (those characters only occur inside strings, and the escape decodes to them), so a JSON log
 * line can be both machine-read and `cat` to a terminal. C0 controls are already escaped by
 * `JSON.stringify`.
 */
export function escapeJsonText(json: string): string {
  let out = "";
  for (const char of json) {
    const code = char.codePointAt(0) as number;
    out += code >= 0x20 && isUnsafe(code, true) ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  }
  return out;
}
