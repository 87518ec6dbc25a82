import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { assertName, assertPattern } from '../protocol/subjects.js';

/**
 * The bus target (or event type) of a Nest message pattern, as Nest normalises it (`normalizePattern`): a string
 * that is a valid bus name is used as it is (`'math.sum'`); an object pattern becomes its sorted keys and values,
 * one token each (`{ cmd: 'sum' }` → `cmd.sum`, `{ role: 'math', cmd: 'sum' }` → `cmd.sum.role.math`). The
 * server and `BusClientProxy` both map patterns with this rule, so they meet on the same subject.
 * Event patterns may use the bus's wildcards. Anything else (nested objects, values with dots or spaces, empty
 * strings) is a clear error.
 */
export function patternToTarget(normalized: string, kind: 'message' | 'event' = 'message'): string {
  const what = `${kind} pattern`;
  let target = normalized;
  if (normalized.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(normalized);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const tokens: string[] = [];
      for (const key of Object.keys(parsed).sort()) {
        const value = (parsed as Record<string, unknown>)[key];
        if (typeof value !== 'string' && typeof value !== 'number')
          throw unmappable(normalized, what, `the value of "${key}" is not a string or number`);
        try {
          assertName(key, `${what} key`, true);
          assertName(String(value), `${what} value`, true);
        } catch (err) {
          throw unmappable(normalized, what, (err as Error).message);
        }
        tokens.push(key, String(value));
      }
      target = tokens.join('.');
    }
  }
  try {
    // An event pattern may use the bus's wildcards (`*`, a final `>`), as subscriptions do.
    if (kind === 'event') assertPattern(target, what);
    else assertName(target, what);
  } catch (err) {
    throw unmappable(normalized, what, (err as Error).message);
  }
  return target;
}

function unmappable(pattern: string, what: string, why: string): BusError {
  return new BusError(
    ErrorCodes.INVALID_REQUEST,
    `${what} ${pattern} has no bus name: ${why}. Use a dot-separated string without spaces or wildcards, or an object of string/number values (see docs/nest-transport.md)`,
  );
}
