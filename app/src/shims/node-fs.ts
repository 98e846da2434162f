// The SDK's file-system paths (adding files and directories from disk, writing and reading
// bundles on disk) are never taken in the browser; reaching one is a bug, reported as such.
// One shim serves both node:fs and node:fs/promises.
function unavailable(name: string) {
  return (..._args: unknown[]): never => {
    throw new Error(`${name} is not available in the browser`);
  };
}
export const constants = { O_RDONLY: 0, O_NOFOLLOW: 0 };
export const createReadStream = unavailable("fs.createReadStream");
export const createWriteStream = unavailable("fs.createWriteStream");
export const lstat = unavailable("fs.lstat");
export const mkdir = unavailable("fs.mkdir");
export const open = unavailable("fs.open");
export const readdir = unavailable("fs.readdir");
export const readFile = unavailable("fs.readFile");
export const stat = unavailable("fs.stat");
export const writeFile = unavailable("fs.writeFile");
export default {};
