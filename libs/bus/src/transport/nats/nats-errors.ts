import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';

function describe(err: unknown): string {
  const e = err as Error | undefined;
  const base = e?.message ?? String(err);
  const cause = (e as { cause?: Error } | undefined)?.cause?.message;
  return cause && !base.includes(cause) ? `${base} (${cause})` : base;
}

function nameOf(err: unknown): string {
  return (err as Error | undefined)?.name ?? (err as object | undefined)?.constructor?.name ?? '';
}

/** Whether a nats.js error is an authentication/authorization failure. */
export function isAuthError(err: unknown): boolean {
  const n = nameOf(err);
  return n === 'AuthorizationError' || n === 'UserAuthenticationExpiredError' || /authori[sz]ation violation|authentication/i.test(describe(err));
}

/** A failed connect as a BusError: AUTH_FAILURE for bad credentials, TRANSPORT_FAILURE naming the URL otherwise. */
export function connectError(err: unknown, servers: string[]): BusError {
  const where = servers.join(', ');
  if (isAuthError(err)) {
    return new BusError(ErrorCodes.AUTH_FAILURE, `NATS server ${where} rejected the credentials: ${describe(err)}`, {
      retryable: false,
      cause: { servers },
    });
  }
  return new BusError(ErrorCodes.TRANSPORT_FAILURE, `cannot connect to NATS server ${where}: ${describe(err)}`, {
    retryable: true,
    cause: { servers },
  });
}

/** A failed publish/subscribe as a BusError. */
export function operationError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const n = nameOf(err);
  if (n === 'InvalidSubjectError') return new BusError(ErrorCodes.INVALID_REQUEST, `${what}: ${describe(err)}`);
  if (n === 'PermissionViolationError') return new BusError(ErrorCodes.AUTH_FAILURE, `${what}: ${describe(err)}`, { retryable: false });
  if (n === 'ClosedConnectionError' || n === 'DrainingConnectionError') {
    return new BusError(ErrorCodes.TRANSPORT_FAILURE, `${what}: NATS connection is ${n === 'ClosedConnectionError' ? 'closed' : 'draining'}`);
  }
  return new BusError(ErrorCodes.TRANSPORT_FAILURE, `${what}: ${describe(err)}`);
}

/** A server-reported permission violation as a BusError naming what was denied. */
export function permissionError(operation: string, subject: string, queue?: string): BusError {
  const op = operation === 'subscription' ? 'subscribe to' : 'publish to';
  return new BusError(
    ErrorCodes.AUTH_FAILURE,
    `permission denied: this NATS user may not ${op} "${subject}"${queue ? ` (queue ${queue})` : ''}`,
    { retryable: false, cause: { operation, subject, ...(queue ? { queue } : {}) } },
  );
}
