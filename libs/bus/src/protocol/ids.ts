import { randomFillSync } from 'node:crypto';

// An id per envelope is on the hot path. The uuid package drew 16 fresh random bytes from the OS per id (11% of
// CPU under load) and lower-cased each formatted string again (7%). Ids are built here with the same layout as
// its v7 (RFC 9562: 48-bit milliseconds, version 7, a 32-bit counter seeded from random bits with the top bit
// clear for monotonic order within a millisecond, variant 10, random bits) from a pool of random bytes refilled
// 4 KiB at a time. test/unit/protocol-golden.test.ts checks them with the uuid package's own validate/version.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;
let lastMsecs = -Infinity;
let seq = 0;

function randomBytes16(): Uint8Array {
  if (offset + 16 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/** A new lowercase UUIDv7 (RFC 9562), the id of every envelope; ids from one process sort by creation. */
export function newEventId(): string {
  const r = randomBytes16();
  const now = Date.now();
  if (now > lastMsecs) {
    seq = ((r[6] & 0x7f) << 24) | (r[7] << 16) | (r[8] << 8) | r[9];
    lastMsecs = now;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMsecs++;
  }
  const ms = lastMsecs;
  return (
    HEX[(ms / 0x10000000000) & 0xff] +
    HEX[(ms / 0x100000000) & 0xff] +
    HEX[(ms / 0x1000000) & 0xff] +
    HEX[(ms / 0x10000) & 0xff] +
    '-' +
    HEX[(ms / 0x100) & 0xff] +
    HEX[ms & 0xff] +
    '-' +
    HEX[0x70 | ((seq >>> 28) & 0x0f)] +
    HEX[(seq >>> 20) & 0xff] +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)] +
    HEX[(seq >>> 6) & 0xff] +
    '-' +
    HEX[((seq << 2) & 0xff) | (r[10] & 0x03)] +
    HEX[r[11]] +
    HEX[r[12]] +
    HEX[r[13]] +
    HEX[r[14]] +
    HEX[r[15]]
  );
}

let lastTimeMs = 0;
let lastTimeText = '';

/** RFC 3339 UTC time with milliseconds, as the upstream runtimes write it (formatted once per millisecond). */
export function nowRfc3339(): string {
  const now = Date.now();
  if (now !== lastTimeMs) {
    lastTimeMs = now;
    lastTimeText = new Date(now).toISOString();
  }
  return lastTimeText;
}
