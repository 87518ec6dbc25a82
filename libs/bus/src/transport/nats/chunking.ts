/**
 * Large-message chunking over NATS (docs/PROTOCOL-EXTENSIONS.md, "chunk").
 *
 * A message larger than the server's max_payload is not published as such. The sender keeps its bytes and
 * publishes a small *stub* on the original subject (same reply subject, so queue groups and no-responders
 * work as for the real message) with an empty body and the headers below. The receiving transport pulls the
 * chunks from the sender (`Acp-Chunk-Source`), reassembles them and hands the envelope to the subscriber as
 * if it had arrived in one piece. Pulling rather than pushing means the chunks reach the one queue member
 * that got the stub.
 */
export const ChunkHeaders = {
  /** Stub and chunk: transfer id (a nuid). */
  ID: 'Acp-Chunk-Id',
  /** Stub: number of chunks. */
  COUNT: 'Acp-Chunk-Count',
  /** Stub: total size of the envelope JSON in bytes. */
  BYTES: 'Acp-Chunk-Bytes',
  /** Stub: subject to send the pull request to (`<sender inbox>.s.<id>`). */
  SOURCE: 'Acp-Chunk-Source',
  /** Chunk: 0-based index. */
  INDEX: 'Acp-Chunk-Index',
  /** Answer to a pull for a transfer the sender no longer has. */
  ERROR: 'Acp-Chunk-Error',
} as const;

/** Bytes kept free in every chunk message for the NATS headers. */
export const CHUNK_HEADER_RESERVE = 512;

/** Chunk payload size for a given max_payload. */
export function chunkSizeFor(maxPayload: number): number {
  return Math.max(1024, maxPayload - CHUNK_HEADER_RESERVE);
}

/** Splits bytes into views of at most `size` bytes (no copy). */
export function splitChunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push(bytes.subarray(off, Math.min(bytes.length, off + size)));
  return out;
}

/** Joins chunks; returns undefined when one is missing or the total differs from `expected`. */
export function joinChunks(parts: ReadonlyArray<Uint8Array | undefined>, expected: number): Uint8Array | undefined {
  let total = 0;
  for (const p of parts) {
    if (!p) return undefined;
    total += p.length;
  }
  if (total !== expected) return undefined;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts as Uint8Array[]) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A chunked message the sender holds until a receiver pulls it (or the chunk timeout passes). */
export interface OutgoingTransfer {
  readonly chunks: Uint8Array[];
  /** Point to point (a request or a reply): forgotten after the first pull. */
  readonly once: boolean;
  readonly timer: NodeJS.Timeout;
}
