/**
 * The canonical output hash over bytes: pure and free of Node built-ins, so the CLI and the
 * worker (through fs.ts, which walks a directory and streams its files) and the dApp (over
 * files downloaded from a gateway) compute it with the same code. SHA-256 is ethers' `sha256`,
 * which runs on Node's crypto in Node and on @noble/hashes in the browser (ethers' own
 * `browser` map), so no shim is needed.
 */
import { sha256 } from "ethers";

/** One regular file of a task's output, by its relative POSIX path. */
export interface OutputFile {
  path: string;
  size: number;
}

export interface ScanLimits {
  /** Stop with `output-too-large` once the files' total size exceeds this. */
  maxBytes?: number;
  /** Stop with `output-too-large` once more than this many files and directories are seen. */
  maxEntries?: number;
}

export interface OutputScan {
  /** Regular files, sorted by the UTF-8 bytes of their paths (the canonical order). */
  files: OutputFile[];
  totalBytes: number;
  /** Files plus directories below the root. */
  entries: number;
}

/** One line of an output's canonical listing: a file's path and the hex SHA-256 of its bytes. */
export interface ListingEntry {
  path: string;
  /** 64 lowercase hex digits, without `0x`. */
  sha256: string;
}

/**
 * The longest relative path an output may hold. Linux refuses longer paths to open() and
 * friends (PATH_MAX 4096, minus room for where the output lives), so an output with one
 * could not be hashed or copied by path on every machine.
 */
export const MAX_PATH_BYTES = 3072;

const encoder = new TextEncoder();

/** Orders strings by their UTF-8 bytes (the canonical path order). */
export function compareUtf8(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** SHA-256 of `bytes` (a string is taken as its UTF-8 bytes), as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return sha256(typeof bytes === "string" ? encoder.encode(bytes) : bytes).slice(2);
}

/**
 * The canonical output hash of one task (`0x` + 64 hex, usable as a bytes32) from its listing:
 * SHA-256 over the lines `<relative POSIX path>\0<hex SHA-256 of contents>\n` of every regular
 * file, sorted by the UTF-8 bytes of the path. Directories are implied by the paths (an empty
 * directory does not count); timestamps, owners and modes are ignored.
 */
export function listingHash(listing: readonly ListingEntry[]): string {
  const lines = [...listing].sort((a, b) => compareUtf8(a.path, b.path));
  const parts = lines.map((line) => encoder.encode(`${line.path}\0${line.sha256}\n`));
  const total = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return `0x${sha256Hex(total)}`;
}

/** The canonical output hash of in-memory files (paths relative to the task's /output). */
export function outputHashOf(files: readonly { path: string; bytes: Uint8Array }[]): string {
  return listingHash(files.map((file) => ({ path: file.path, sha256: sha256Hex(file.bytes) })));
}
