import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { agentInboxPrefix } from '@openagentio/nestjs';

/** A server-side refusal as nats.js reports it (the server's `-ERR 'Permissions Violation for …'`). */
interface Violation {
  operation: string;
  subject: string;
}

/** A raw connection of the rogue's user, recording every permissions violation the server reports to it. */
export async function rogueConnection(
  url: string,
  pass: string,
): Promise<{ nc: NatsConnection; refused: (op: string, subject: string) => Promise<void> }> {
  const nc = await connect({ servers: url, user: 'rogue', pass, inboxPrefix: agentInboxPrefix('rogue') });
  const seen: Violation[] = [];
  const waiters: Array<() => void> = [];
  void (async () => {
    for await (const s of nc.status()) {
      const err = (s as { error?: Error & Partial<Violation> }).error;
      if (err?.name === 'PermissionViolationError') {
        seen.push({ operation: err.operation ?? '', subject: err.subject ?? '' });
        for (const w of waiters.splice(0)) w();
      }
    }
  })();
  const refused = async (op: string, subject: string) => {
    const hit = () => seen.some((v) => v.operation === op && v.subject === subject);
    const end = Date.now() + 3000;
    while (!hit()) {
      if (Date.now() > end) assert.fail(`no permissions violation for ${op} ${subject}; seen: ${JSON.stringify(seen)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { nc, refused };
}
