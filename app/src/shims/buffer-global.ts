// sdk/manifest/parse.ts measures the serialized manifest with Buffer.byteLength; that is the
// only Buffer use on the browser's code paths, so a one-function stand-in is enough.
const g = globalThis as { Buffer?: unknown };
if (g.Buffer === undefined) {
  g.Buffer = {
    byteLength: (text: string) => new TextEncoder().encode(text).length,
  };
}
