// Only used by the SDK's file-system code paths (see node-fs.ts); these are harmless.
export const join = (...parts: string[]) => parts.join("/").replace(/\/+/g, "/");
export const dirname = (path: string) => path.replace(/\/[^/]*$/, "") || "/";
export const sep = "/";
export default { join, dirname, sep };
