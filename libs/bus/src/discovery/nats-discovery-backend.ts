import { AnnouncementTypes, announcementSubject, type DiscoveryAnnouncement } from './announcement.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import { discoveryInbox } from './discovery-inbox.js';
import type { MicroAnswerCheck } from './micro-answer-check.js';
import { serviceApiSubject, type ServiceVerb } from './micro-types.js';
import type { RawNats } from './raw-nats.js';
import { DRAIN_RESPONSE_TYPE, type ControlVerb, type DrainResponse } from './drain-control.js';
import { SERVICE_API_PREFIX } from './micro-types.js';
import { SPANS_RESPONSE_TYPE, type SpanQuery, type SpansResponse } from '../observability/span-ring.js';

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

  /** One request to one instance; its answer, or undefined after `timeout` (gone, control off) or no responders. */
  control(verb: ControlVerb, name: string, id: string): Promise<DrainResponse | undefined> {
    const inbox = discoveryInbox(this.newInbox);
    return new Promise<DrainResponse | undefined>((resolve, reject) => {
      const finish = (err?: Error, answer?: DrainResponse): void => {
        clearTimeout(timer);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve(answer);
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return finish(err);
          if (msg.headers?.hasError) return finish();
          let a: Partial<DrainResponse>;
          try {
            a = msg.json();
          } catch {
            return;
          }
          // Anyone may publish to the inbox: only an answer of the right shape from the instance asked counts.
          if (a?.type !== DRAIN_RESPONSE_TYPE || a.name !== name || a.id !== id || typeof a.drained !== 'boolean') return;
          finish(undefined, { type: DRAIN_RESPONSE_TYPE, name, id, drained: a.drained, inflight: Number(a.inflight) || 0 });
        },
      });
      const timer = setTimeout(() => finish(), this.limits.timeout);
      try {
        this.nc.publish(`${SERVICE_API_PREFIX}.${verb}.${name}.${id}`, '', { reply: inbox });
      } catch (err) {
        finish(err as Error);
      }
    });
  }

  query(verb: ServiceVerb, name?: string, id?: string): Promise<unknown[]> {
    return this.gather(serviceApiSubject(verb, name, id), '', !!(name && id), (a) => this.check.accept(verb, a));
  }

  /** `$SRV.SPANS` with the question as its body: each process with an installed SpanRing answers. */
  async spans(query: SpanQuery): Promise<SpansResponse[]> {
    const answers = await this.gather(`${SERVICE_API_PREFIX}.SPANS`, JSON.stringify(query), false, (a) => {
      const r = a as Partial<SpansResponse>;
      return r?.type === SPANS_RESPONSE_TYPE && typeof r.name === 'string' && typeof r.id === 'string' && Array.isArray(r.spans);
    });
    return answers as SpansResponse[];
  }

  private gather(subject: string, body: string, one: boolean, accept: (answer: unknown) => boolean): Promise<unknown[]> {
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
          if (!accept(answer)) return;
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
        this.nc.publish(subject, body, { reply: inbox });
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
