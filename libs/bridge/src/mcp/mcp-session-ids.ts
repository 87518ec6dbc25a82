import { createHmac, randomUUID } from 'node:crypto';
import { tokenMatches } from '../http/bearer-token.js';

/**
 * A new MCP session id: a UUID, and with a secret `<uuid>.<HMAC>`, so that every endpoint replica sharing the
 * secret accepts the sessions any of them issued and refuses forged ones.
 */
export function newSessionId(secret: string | undefined): string {
  const id = randomUUID();
  return secret ? `${id}.${sign(secret, id)}` : id;
}

/** Whether a client's session id is well formed and, with a secret, signed with it. */
export function validSessionId(sessionId: string, secret: string | undefined): boolean {
  if (!/^[\x21-\x7e]{1,256}$/.test(sessionId)) return false;
  if (!secret) return true;
  const dot = sessionId.lastIndexOf('.');
  if (dot <= 0) return false;
  return tokenMatches(sessionId.slice(dot + 1), sign(secret, sessionId.slice(0, dot)));
}

function sign(secret: string, id: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url').slice(0, 32);
}
