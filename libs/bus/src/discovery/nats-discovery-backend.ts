import { AnnouncementTypes, announcementSubject, type DiscoveryAnnouncement } from './announcement.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import { discoveryInbox } from './discovery-inbox.js';
import type { MicroAnswerCheck } from './micro-answer-check.js';
import { serviceApiSubject, type ServiceVerb } from './micro-types.js';
import type { RawNats } from './raw-nats.js';

/**
 * How a scatter-gather ends: `timeout` for the first answer, `gap` after each for another, and in any case after
 * `deadline` ms or `maxAnswers` answers (a responder that keeps answering would hold it open for ever otherwise).
 */
export interface GatherLimits {
  timeout: number;
  gap: number;
  deadline: number;
  maxAnswers: number;
}

/**
 * The Services API over NATS, as `nats micro` asks it: one request, every instance answers on the reply subject.
 * How many will answer is unknown, so the answers are gathered until none has come for `gap` ms (natscli waits
 * 300 ms), within `timeout` for the first, and never past `deadline` nor `maxAnswers`; a request to one instance
 * (name and id) ends with its answer, and "no responders" (no service at all) at once. Answers that do not match
 * their schema, and a second answer from one instance, are skipped (they neither count nor hold the gather open).
 * Replies come to an inbox of the transport's own (its `inboxPrefix`), so a user allowed only its own inbox
 * subjects can ask too; it ends in `.srv`, where generated permissions let services answer (docs/security.md).
 */
export class NatsDiscoveryBackend implements DiscoveryBackend {
  constructor(
    private readonly nc: RawNats,
    private readonly subjectPrefix: string,
    private readonly newInbox: () => string,
    private readonly limits: GatherLimits,
    private readonly check: MicroAnswerCheck,
  ) {}

  query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]> {
    const one = !!(name && id);
    const inbox = discoveryInbox(this.newInbox);
    const { timeout, gap, deadline, maxAnswers } = this.limits;
    return new Promise<unknown[]>((resolve, reject) => {
      const out: unknown[] = [];
      const seen = new Set<string>();
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(overall);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve(out);
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return finish(err);
          if (msg.headers?.hasError) return finish(); // 503: nobody serves the subject, so no service
          let answer: { name: string; id: string };
          try {
            answer = msg.json();
          } catch {
            return; // not JSON: not a Services API answer
          }
          if (!this.check.accept(verb, answer)) return;
          const key = `${answer.name} ${answer.id}`;
          if (seen.has(key)) return;
          seen.add(key);
          out.push(answer);
          if (one || out.length >= maxAnswers) return finish();
          clearTimeout(timer);
          timer = setTimeout(finish, gap);
        },
      });
      timer = setTimeout(finish, timeout);
      const overall = setTimeout(finish, deadline);
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
        if (a?.type === AnnouncementTypes.CHANGED) {
          if (this.check.accept('INFO', a.info)) listener(a);
        } else if (a?.type === AnnouncementTypes.STOPPED) {
          if (typeof a.name === 'string' && typeof a.id === 'string') listener(a);
          else this.check.skipped('announcement', a, 'a stopped notice without a string name and id');
        }
      },
    });
    await this.nc.flush();
    return () => sub.unsubscribe();
  }
}
