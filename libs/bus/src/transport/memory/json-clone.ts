/**
 * A deep copy with exactly JSON's semantics (what the envelope would be after JSON.stringify + JSON.parse, as
 * over NATS): `toJSON` is honoured, `undefined`/functions/symbols are dropped from objects and become null in
 * arrays, non-finite numbers become null, a BigInt or a circular structure throws a TypeError. It is several
 * times faster than the text round trip for the small objects agents exchange.
 */
export function jsonClone<T>(value: T): T {
  return clone(value, 0) as T;
}

const MAX_DEPTH = 512;

function clone(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return null;
  if (depth > MAX_DEPTH) throw new TypeError(`Converting circular structure to JSON (or nesting deeper than ${MAX_DEPTH})`);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return clone(toJSON.call(v, ''), depth + 1);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = clone(v[i], depth + 1);
      out[i] = c === undefined ? null : c;
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    // A plain object: for-in gives its own enumerable keys (Object.prototype has none) without allocating an array.
    for (const key in v as object) {
      const c = clone((v as Record<string, unknown>)[key], depth + 1);
      if (c !== undefined) out[key] = c;
    }
    return out;
  }
  for (const key of Object.keys(v as object)) {
    const c = clone((v as Record<string, unknown>)[key], depth + 1);
    if (c !== undefined) out[key] = c;
  }
  return out;
}
