import { AnnouncementTypes, announcementSubject, type DiscoveryAnnouncement } from './announcement.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import { serviceApiSubject, type ServiceVerb } from './micro-types.js';
import type { RawNats } from './raw-nats.js';

/** How long a scatter-gather waits: for the first answer (`timeout`), and after each for another (`gap`). */
export interface GatherTimes {
  timeout: number;
  gap: number;
}

/**
 * The Services API over NATS, as `nats micro` asks it: one request, every instance answers on the reply subject.
 * How many will answer is unknown, so the answers are gathered until none has come for `gap` ms (natscli waits
 * 300 ms), within `timeout` for the first; a request to one instance (name and id) ends with its answer, and "no
 * responders" (no service at all) at once. Replies come to an inbox of the transport's own (its `inboxPrefix`),
 * so a user allowed only its own inbox subjects can ask too.
 */
export class NatsDiscoveryBackend implements DiscoveryBackend {
  constructor(
    private readonly nc: RawNats,
    private readonly subjectPrefix: string,
    private readonly newInbox: () => string,
    private readonly times: GatherTimes,
  ) {}

  query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]> {
    const one = !!(name && id);
    const inbox = this.newInbox();
    return new Promise<unknown[]>((resolve, reject) => {
      const out: unknown[] = [];
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve(out);
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return finish(err);
          if (msg.headers?.hasError) return finish(); // 503: nobody serves the subject, so no service
          try {
            out.push(msg.json());
          } catch {
            return; // not JSON: not a Services API answer
          }
          if (one) return finish();
          clearTimeout(timer);
          timer = setTimeout(finish, this.times.gap);
        },
      });
      timer = setTimeout(finish, this.times.timeout);
      try {
        this.nc.publish(serviceApiSubject(verb, name, id), '', { reply: inbox });
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  async watch(listener: (a: DiscoveryAnnouncement) => void): Promise<() => void> {
    const sub = this.nc.subscribe(announcementSubject(this.subjectPrefix), {
      callback: (err, msg) => {
        if (err) return;
        let a: DiscoveryAnnouncement;
        try {
          a = (msg.json<{ payload?: DiscoveryAnnouncement }>()?.payload ?? {}) as DiscoveryAnnouncement;
        } catch {
          return;
        }
        if (a?.type === AnnouncementTypes.CHANGED || a?.type === AnnouncementTypes.STOPPED) listener(a);
      },
    });
    await this.nc.flush();
    return () => sub.unsubscribe();
  }
}
