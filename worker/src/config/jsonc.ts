// JSON with comments (JSONC, as in VS Code's settings and tsconfig.json): the worker's
// configuration file may carry `// …` and `/* … */` comments, so the file `conun-worker init`
// writes can explain every setting where it stands. Comments are blanked out (with spaces, so
// JSON.parse's error positions still point into the original text); strings are left alone,
// `"http://…"` included. Trailing commas stay an error: JSON.parse names their position.

/** The text with every comment outside strings replaced by spaces (newlines kept). */
export function stripJsonComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    const next = text[i + 1];
    if (char === '"') {
      // Copy the string as is, escapes included.
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== "\n") {
        i += text[i] === "\\" ? 2 : 1;
      }
      i++;
      out += text.slice(start, i);
    } else if (char === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") {
        out += " ";
        i++;
      }
    } else if (char === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += char;
      i++;
    }
  }
  return out;
}
