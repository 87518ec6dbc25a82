import { connect, type NatsConnection } from '@nats-io/transport-node';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';

/** One message seen on the wire. */
export interface SniffedMessage {
  subject: string;
  reply?: string;
  /** NATS headers present (our extensions use them; upstream peers never get them). */
  headers: boolean;
  body: string;
  envelope?: Record<string, unknown>;
  problems: string[];
}

/**
 * Everything published on a server under `subjects` (default every subject), read by a separate plain NATS
 * connection, so a test checks what really crossed the wire between runtimes, not what either API reports: each
 * body that is meant to be an acp/1.0 envelope is validated against the upstream schema.
 */
export class WireSniffer {
  readonly messages: SniffedMessage[] = [];
  private constructor(private readonly nc: NatsConnection) {}

  static async start(url: string, subjects: string[] = ['>']): Promise<WireSniffer> {
    const nc = await connect({ servers: url, name: 'wire-sniffer' });
    const sniffer = new WireSniffer(nc);
    for (const subject of subjects) {
      nc.subscribe(subject, {
        callback: (_err, m) => {
          const body = m.string();
          let envelope: Record<string, unknown> | undefined;
          let problems: string[] = [];
          if (body.length > 0) {
            try {
              envelope = JSON.parse(body) as Record<string, unknown>;
              problems = schemaProblems(envelope);
            } catch (err) {
              problems = [`not JSON: ${(err as Error).message}`];
            }
          }
          sniffer.messages.push({ subject: m.subject, reply: m.reply || undefined, headers: !!m.headers, body, envelope, problems });
        },
      });
    }
    await nc.flush();
    return sniffer;
  }

  /** Envelopes on subjects matching `pattern` (a RegExp on the subject). */
  envelopes(pattern: RegExp): Array<Record<string, unknown>> {
    return this.messages.filter((m) => pattern.test(m.subject) && m.envelope).map((m) => m.envelope!);
  }

  /** Messages whose body failed the schema (chunk stubs and `$JS`/`_INBOX` control traffic without a body are skipped). */
  invalid(): SniffedMessage[] {
    return this.messages.filter((m) => m.body.length > 0 && m.problems.length > 0 && !m.subject.startsWith('$'));
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
