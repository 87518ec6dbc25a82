import { createHash, randomFillSync } from 'node:crypto';

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

/** Offset of 16 fresh random bytes in `pool` (read in place: a subarray per id was a quarter of its cost). */
function randomOffset16(): number {
  if (offset + 16 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const o = offset;
  offset += 16;
  return o;
}

/** Hex digits of each byte value, as character codes: HEX_CODES[2b] and HEX_CODES[2b + 1]. */
const HEX_CODES = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const h = (b + 0x100).toString(16).slice(1);
  HEX_CODES[2 * b] = h.charCodeAt(0);
  HEX_CODES[2 * b + 1] = h.charCodeAt(1);
}
// The id is written as bytes and read out as one flat string: concatenating 21 pieces made as many rope nodes.
const ID = Buffer.alloc(36);
ID[8] = ID[13] = ID[18] = ID[23] = 0x2d;

// Buffer's own latin1 reader (what toString('latin1') calls after checking its arguments), when Node has it.
const latin1Slice: (this: Buffer, start: number, end: number) => string =
  (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };

function putHex(at: number, byte: number): void {
  ID[at] = HEX_CODES[2 * byte];
  ID[at + 1] = HEX_CODES[2 * byte + 1];
}

/** The last millisecond whose 12 hex digits are in ID[0..13]. */
let writtenMsecs = -Infinity;

/**
 * A new lowercase UUIDv7 (RFC 9562), the id of every envelope; ids from one process sort by creation. `now` (epoch
 * ms) saves a clock read when the caller has one.
 */
export function newEventId(now: number = Date.now()): string {
  const o = randomOffset16();
  const r = pool;
  if (now > lastMsecs) {
    seq = ((r[o + 6] & 0x7f) << 24) | (r[o + 7] << 16) | (r[o + 8] << 8) | r[o + 9];
    lastMsecs = now;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMsecs++;
  }
  const ms = lastMsecs;
  if (ms !== writtenMsecs) {
    writtenMsecs = ms;
    putHex(0, (ms / 0x10000000000) & 0xff);
    putHex(2, (ms / 0x100000000) & 0xff);
    putHex(4, (ms / 0x1000000) & 0xff);
    putHex(6, (ms / 0x10000) & 0xff);
    putHex(9, (ms / 0x100) & 0xff);
    putHex(11, ms & 0xff);
  }
  putHex(14, 0x70 | ((seq >>> 28) & 0x0f));
  putHex(16, (seq >>> 20) & 0xff);
  putHex(19, 0x80 | ((seq >>> 14) & 0x3f));
  putHex(21, (seq >>> 6) & 0xff);
  putHex(24, ((seq << 2) & 0xff) | (r[o + 10] & 0x03));
  putHex(26, r[o + 11]);
  putHex(28, r[o + 12]);
  putHex(30, r[o + 13]);
  putHex(32, r[o + 14]);
  putHex(34, r[o + 15]);
  return latin1Slice.call(ID, 0, 36);
}

let lastTimeMs = 0;
let lastTimeText = '';

/** RFC 3339 UTC time with milliseconds, as the upstream runtimes write it (formatted once per millisecond). */
export function nowRfc3339(now: number = Date.now()): string {
  if (now !== lastTimeMs) {
    lastTimeMs = now;
    lastTimeText = new Date(now).toISOString();
  }
  return lastTimeText;
}

/**
 * The same UUID-shaped event id for the same parts, every time (version 8 with a SHA-256 of the parts, RFC 9562
 * variant): what a durable publish de-duplicates on when one fact may be announced twice (a room event synced
 * again, a task end announced by a retry).
 */
export function eventIdFrom(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
