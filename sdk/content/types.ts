/**
 * The content store's public contract, shared by the requester tools, the worker and the dApp
 * gateway. Everything is addressed by CIDv1 (sha2-256), exactly the CID `ipfs add
 * --cid-version 1` gives the same bytes or directory, and every read is verified: bytes that
 * do not hash to the CID are refused with a ContentError (code `content-mismatch`), never
 * returned. Large content is streamed, never loaded whole unless the caller asks for bytes
 * with a size bound.
 */
export interface ContentStore {
  /** Stores bytes (one file's contents); returns its CID string (base32 `bafy…`/`bafk…`). */
  addBytes(bytes: Uint8Array): Promise<string>;
  /** Stores a file from disk, streaming it. */
  addFile(path: string): Promise<string>;
  /** Stores a directory tree (files and subdirectories; symlinks are refused). */
  addDirectory(path: string): Promise<string>;
  /** True when every block of the content is available locally / from the backend. */
  has(cid: string): Promise<boolean>;
  /**
   * Reads a file's bytes, verified. Fails with code `content-too-large` beyond `maxBytes`
   * (default 16 MiB) rather than buffering without bound.
   */
  getBytes(cid: string, options?: { maxBytes?: number; signal?: AbortSignal }): Promise<Uint8Array>;
  /** Streams a file's bytes, verified block by block. */
  stream(cid: string, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /**
   * Writes a file or a directory tree to `destination` (which must not exist yet), verified,
   * streaming. Returns what was written.
   */
  exportTo(
    cid: string,
    destination: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ kind: "file" | "directory"; bytes: number }>;
  close(): Promise<void>;
}
