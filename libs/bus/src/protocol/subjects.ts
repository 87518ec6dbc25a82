import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

export const DEFAULT_SUBJECT_PREFIX = 'acp.v1';

/** Builds the NATS subjects of docs/protocol.md §2 for one prefix and optional tenant scope. */
export class SubjectScheme {
  private readonly scope: string;
  /** Checked targets and their subjects (see checkedInvoke). */
  private readonly invokeSubjects = new Map<string, string>();

  constructor(
    readonly prefix: string = DEFAULT_SUBJECT_PREFIX,
    readonly tenant?: string,
  ) {
    assertName(prefix, 'subject prefix');
    if (tenant !== undefined) assertName(tenant, 'tenant', true);
    this.scope = tenant ? `${prefix}.${tenant}` : prefix;
  }

  /**
   * `invoke(target)` after checking the target with assertName, for the call path: a target seen before gets the
   * same subject string back without a second check, which the in-memory broker's route cache then hashes once.
   */
  checkedInvoke(target: string): string {
    let subject = this.invokeSubjects.get(target);
    if (subject === undefined) {
      assertName(target, 'invoke target');
      if (this.invokeSubjects.size >= 4096) this.invokeSubjects.clear();
      subject = this.invoke(target);
      this.invokeSubjects.set(target, subject);
    }
    return subject;
  }

  invoke(target: string): string {
    return `${this.scope}.invoke.${target}`;
  }

  event(eventType: string): string {
    return `${this.scope}.events.${eventType}`;
  }

  /** Dead letters are never tenant-scoped. */
  deadLetter(eventType: string): string {
    return `${this.prefix}.dlq.${eventType}`;
  }

  /** Control subject on which every replica of a target hears broadcast cancellations. */
  cancel(target: string): string {
    return `${this.scope}.cancel.${target}`;
  }
}

const TOKEN = /^[^\s.*>]+$/;

/**
 * Longest subject the bus publishes to. nats-server closes a connection whose protocol line exceeds its
 * max_control_line (4 KB by default), and a PUB line carries a subject and a reply subject: a subject taken from a
 * received message (a reply_to, a control subject, a chunk source) that is longer must never reach the connection.
 */
export const MAX_SUBJECT_LENGTH = 1024;
/**
 * Whether a subject that came from outside (a received envelope or header) may be published to: at most
 * MAX_SUBJECT_LENGTH characters, non-empty tokens, no white space or control characters, no wildcard token.
 */
/** A short description of an unusable subject for logs and errors (never the whole of an oversize one). */
export function describeSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.length === 0) return 'none';
  return subject.length > 64 ? `${subject.length} characters, starting ${JSON.stringify(subject.slice(0, 32))}` : JSON.stringify(subject);
}

export function isPublishableSubject(subject: unknown): subject is string {
  if (typeof subject !== 'string') return false;
  const n = subject.length;
  if (n === 0 || n > MAX_SUBJECT_LENGTH) return false;
  // One pass over the characters (this runs for every request served): no white space or control characters,
  // no empty token, no token that is a lone `*` or `>`.
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : 46;
    if (c === 46) {
      const len = i - tokenStart;
      if (len === 0) return false;
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === 42 || t === 62) return false;
      }
      tokenStart = i + 1;
    } else if (c <= 32 || c === 127) {
      return false;
    }
  }
  return true;
}

/**
 * Checks a target, event type or tenant: dot-separated non-empty tokens, no white space and no wildcards.
 * Throws INVALID_REQUEST naming the problem, so `a..b`, `a b` or `a.*` never reach the transport.
 */
// Names are checked on every call; the ones seen recently are remembered (a bounded set of valid names).
const validNames = new Set<string>();

export function assertName(name: unknown, what: string, singleToken = false): asserts name is string {
  if (!singleToken && typeof name === 'string' && validNames.has(name)) return;
  if (typeof name !== 'string' || name.length === 0) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} must be a non-empty string`);
  }
  if (name.length > 256) throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} is longer than 256 characters`);
  const tokens = name.split('.');
  if (singleToken && tokens.length > 1) throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} "${name}" must not contain dots`);
  for (const t of tokens) {
    if (!TOKEN.test(t)) {
      const why = t.length === 0 ? 'has an empty token' : /\s/.test(t) ? 'contains white space' : 'contains a wildcard (* or >)';
      throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} "${name}" ${why}`);
    }
  }
  if (!singleToken) {
    if (validNames.size >= 4096) validNames.clear();
    validNames.add(name);
  }
}

/** Checks a subscription pattern: like a name, but `*` may stand for one token and a final `>` for the rest. */
export function assertPattern(pattern: unknown, what = 'pattern'): asserts pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} must be a non-empty string`);
  }
  const tokens = pattern.split('.');
  tokens.forEach((t, i) => {
    if (t === '*') return;
    if (t === '>') {
      if (i === tokens.length - 1) return;
      throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} "${pattern}": '>' must be the last token`);
    }
    if (!TOKEN.test(t)) {
      const why = t.length === 0 ? 'has an empty token' : /\s/.test(t) ? 'contains white space' : 'mixes a wildcard into a token';
      throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} "${pattern}" ${why}`);
    }
  });
}
