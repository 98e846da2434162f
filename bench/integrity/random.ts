// Randomness for the integrity simulator: the contracts' keccak draws, reproduced bit for bit,
// and a small seeded generator for everything that is not a contract draw (the bids of a
// simulated job, its seed, the escalation panel).
import { keccak256 } from "ethers";

const WORD_BYTES = 32;
const UINT256_MAX = (1n << 256n) - 1n;

/**
 * `uint256(keccak256(abi.encode(words...)))` for uint256 words: what `Assignment` computes for
 * `keccak256(abi.encode(seed, i))`. abi.encode of static uint256 values is each value as a
 * 32-byte big-endian word, end to end.
 */
export function keccakWords(...words: bigint[]): bigint {
  const bytes = new Uint8Array(WORD_BYTES * words.length);
  for (const [w, word] of words.entries()) {
    if (word < 0n || word > UINT256_MAX) throw new RangeError(`not a uint256: ${word}`);
    let rest = word;
    for (let b = WORD_BYTES - 1; b >= 0 && rest !== 0n; b--) {
      bytes[w * WORD_BYTES + b] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  return BigInt(keccak256(bytes));
}

/** A reproducible pseudo-random generator (see `createRng`). */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A uniformly random uint256. */
  word(): bigint;
}

/** mulberry32: small, fast and good enough for sampling simulated jobs; seeded by `seed`. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    word: () => {
      let word = 0n;
      for (let i = 0; i < 8; i++) word = (word << 32n) | BigInt(Math.floor(next() * 4294967296));
      return word;
    },
  };
}
