/**
 * How handler values become frame payloads (docs/protocol.md §1 conventions):
 * a string is `{delta}`, an object that already has `delta` or `data` goes as it is, anything else is `{data}`;
 * a result is wrapped as `{result}`.
 */
export function deltaPayload(value: unknown): unknown {
  if (typeof value === 'string') return { delta: value };
  if (value && typeof value === 'object' && !Array.isArray(value) && ('delta' in value || 'data' in value)) return value;
  return { data: value };
}

export function finalPayload(result: unknown): unknown {
  return result === undefined ? {} : { result };
}

/**
 * An invoke reply's payload: `{result}` for callers that advertised our extensions (unambiguous: the caller unwraps
 * exactly that one key); the handler's value as it is for the others, as the upstream runtimes send and their
 * users decode it (nothing, for no value).
 */
export function invokePayload(callerExt: ReadonlySet<string>, result: unknown): unknown {
  return callerExt.size === 0 ? result : finalPayload(result);
}
