import type { CallContext } from '../context/call-context.js';

/** The absolute deadline of a new call: its own timeout, never past the enclosing call's deadline. */
export function effectiveDeadline(now: number, timeout: number | undefined, defaultTimeout: number, ctx: CallContext | undefined): number {
  const own = now + (timeout !== undefined && timeout >= 0 ? timeout : defaultTimeout);
  const inherited = ctx?.deadline;
  return inherited !== undefined && inherited < own ? inherited : own;
}
