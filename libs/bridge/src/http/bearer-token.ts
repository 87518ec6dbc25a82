import { createHash, timingSafeEqual } from 'node:crypto';

/** The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive), or undefined. */
export function bearerTokenOf(authorization: string | string[] | undefined): string | undefined {
  const h = Array.isArray(authorization) ? authorization[0] : authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  const token = m?.[1].trim();
  return token ? token : undefined;
}

/**
 * Whether `given` equals `expected`, in time that depends on neither: both are hashed first, so neither their
 * content nor their length can be learnt from how long the comparison takes.
 */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The one of `candidates` that `given` equals (every candidate is compared, so timing says nothing of which). */
export function findToken(given: string | undefined, candidates: Iterable<string>): string | undefined {
  if (given === undefined) return undefined;
  const g = digest(given);
  let found: string | undefined;
  for (const c of candidates) if (timingSafeEqual(g, digest(c)) && found === undefined) found = c;
  return found;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
