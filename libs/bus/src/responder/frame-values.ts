/**
 * How handler values become frame payloads (PROTOCOL.md §1 conventions):
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
