/**
 * The characters of `text` that could steer a terminal (C0 and C1 controls, DEL, bidi
 * overrides and isolates), written as U+XXXX: empty when the text is safe to print. Newlines
 * are allowed when `multiline`.
 */
export function controlCharacters(text: string, options: { multiline?: boolean } = {}): string[] {
  return [...text]
    .map((char) => char.codePointAt(0) as number)
    .filter(
      (code) =>
        (code < 0x20 && !(options.multiline && code === 0x0a)) ||
        (code >= 0x7f && code <= 0x9f) ||
        (code >= 0x202a && code <= 0x202e) ||
        (code >= 0x2066 && code <= 0x2069),
    )
    .map((code) => `U+${code.toString(16).padStart(4, "0")}`);
}
