// See node-fs.ts: only reached by file-system code paths the browser never takes.
export const pipeline = (..._args: unknown[]): never => {
  throw new Error("stream.pipeline is not available in the browser");
};
export default { pipeline };
