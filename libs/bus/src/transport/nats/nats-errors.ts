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
  return (
    n === 'AuthorizationError' || n === 'UserAuthenticationExpiredError' || /authori[sz]ation violation|authentication/i.test(describe(err))
  );
}

// Node's TLS error codes (err.code) for a server certificate this client does not trust.
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/**
 * What to do about a failed TLS handshake, from Node's error code; undefined when it is not one. OpenSSL's own
 * text for a refused client certificate is a line of library internals, so the code stands in for it.
 */
function tlsProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED_SERVER.has(code)) {
    return `TLS: ${describe(err)}; the server's certificate is not signed by a CA this client trusts (set tls.caFile or tls.ca to that CA)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `TLS: ${describe(err)}; the server's certificate is outside its validity period`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: ${describe(err)}; connect by a name or address the server's certificate lists`;
  if (/^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN)$/.test(code)) {
    return `TLS: the server refused this client's certificate or its absence (${code}); set tls.certFile and tls.keyFile to a certificate signed by a CA the server trusts`;
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `TLS handshake failed (${code})`;
  return undefined;
}

/**
 * A failed connect as a BusError: AUTH_FAILURE for bad credentials; TRANSPORT_FAILURE naming the URL otherwise,
 * not retryable when a TLS handshake failed on certificates (configuration, which a retry does not mend).
 * `usesTls`: the connection was configured for TLS, so a reset is explained as a likely refused certificate.
 */
export function connectError(err: unknown, servers: string[], usesTls = false): BusError {
  if (err instanceof BusError) return err;
  const where = servers.join(', ');
  const tls = tlsProblem(err);
  if (tls)
    return new BusError(ErrorCodes.TRANSPORT_FAILURE, `cannot connect to NATS server ${where}: ${tls}`, {
      retryable: false,
      cause: { servers },
    });
  if (usesTls && (err as { code?: unknown } | undefined)?.code === 'ECONNRESET') {
    // A server that refuses a client certificate sends an alert and closes; the client often sees the reset
    // first. A reset can also be the network, so this stays retryable and the hint conditional.
    return new BusError(
      ErrorCodes.TRANSPORT_FAILURE,
      `cannot connect to NATS server ${where}: ${describe(err)}; the server closed the connection during the TLS handshake (if it verifies client certificates, set tls.certFile and tls.keyFile to one signed by a CA it trusts)`,
      { retryable: true, cause: { servers } },
    );
  }
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
    return new BusError(
      ErrorCodes.TRANSPORT_FAILURE,
      `${what}: NATS connection is ${n === 'ClosedConnectionError' ? 'closed' : 'draining'}`,
    );
  }
  return new BusError(ErrorCodes.TRANSPORT_FAILURE, `${what}: ${describe(err)}`);
}

/** A server-reported permission violation as a BusError naming what was denied. */
export function permissionError(operation: string, subject: string, queue?: string, rule?: string): BusError {
  const op = operation === 'subscription' ? 'subscribe to' : 'publish to';
  return new BusError(
    ErrorCodes.AUTH_FAILURE,
    `permission denied: this NATS user may not ${op} "${subject}"${queue ? ` (queue ${queue})` : ''}${rule ? `: ${rule}` : ''}`,
    { retryable: false, cause: { operation, subject, ...(queue ? { queue } : {}), ...(rule ? { rule } : {}) } },
  );
}
