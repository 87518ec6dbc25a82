import type { BusLogger } from '../../runtime/bus-logger.js';

/** Loggers already told (once each: the default console logger once per process). */
const told = new WeakSet<BusLogger>();

/**
 * Says once that the server takes clients without authentication. The server's INFO (sent before any credentials)
 * says `auth_required: true` whenever it has users, nkeys, tokens or an operator: without it nobody can have
 * permissions, so every participant may read requests, forge replies and cancel calls (docs/security.md). A server
 * that authenticates users but gives one of them no permissions is not detected here.
 */
export function warnOpenAccount(info: { auth_required?: boolean } | undefined, logger: BusLogger): void {
  if (!info || info.auth_required === true || told.has(logger)) return;
  told.add(logger);
  logger.warn(
    'NATS: this server requires no authentication, so this app runs on an open account: any client can read requests, ' +
      'answer or cancel calls and rewrite tasks. Give each agent a NATS user with the permissions `npx openagentio ' +
      'nats-permissions` prints (docs/security.md); set warnOpenAccount: false to silence this.',
  );
}
