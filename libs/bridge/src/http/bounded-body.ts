/** A body was larger than the bytes its reader allows. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a fetch Response's body as text, at most `limit` bytes of it. A declared Content-Length above the limit is
 * refused before anything is read. Past the limit, `onOver: 'throw'` (an answer that must be whole) throws
 * BodyTooLargeError; `onOver: 'truncate'` (an error text, only shown in part anyway) returns what fits. Either
 * way the rest is not read: the body is cancelled, so a peer sending gigabytes costs `limit` bytes of memory.
 */
export async function readBodyText(res: Response, limit: number, onOver: 'throw' | 'truncate'): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (onOver === 'throw' && Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limit);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > limit) {
        over = true;
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    if (over) await reader.cancel().catch(() => undefined);
    else reader.releaseLock();
  }
  if (over && onOver === 'throw') throw new BodyTooLargeError(limit);
  return Buffer.concat(chunks, size).toString('utf8');
}
