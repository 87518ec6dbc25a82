import { createEvent } from '../protocol/envelope-factory.js';
import { encodeEnvelope } from '../protocol/envelope-codec.js';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { BusLogger } from '../runtime/bus-logger.js';
import { AnnouncementTypes, announcementSubject, type DiscoveryAnnouncement } from './announcement.js';
import type { LocalService } from './local-service.js';
import { SERVICE_API_PREFIX } from './micro-types.js';
import type { RawNats } from './raw-nats.js';
import type { ServiceHost } from './service-host.js';
import { SpanRing, spanQueryOf, SPANS_RESPONSE_TYPE } from '../observability/span-ring.js';
import { CONTROL_VERBS, DRAIN_RESPONSE_TYPE, type ControlVerb, type DrainControl } from './drain-control.js';

/**
 * Answers the Services API for one bus on its own NATS connection: `$SRV.<verb>`, `$SRV.<verb>.<name>` and
 * `$SRV.<verb>.<name>.<id>` for PING, INFO and STATS, on three subscriptions whose verb token is a wildcard (a
 * subject matches exactly one of them: their token counts differ). No queue group, so every instance answers a
 * broadcast and only this one its own id. The endpoints listed are the responder's real subscriptions: discovery
 * adds none per target.
 */
export class NatsServiceHost implements ServiceHost {
  private subs: Subscription[] = [];
  private refused = false;
  private listed = true;

  constructor(
    private readonly nc: RawNats,
    private readonly service: LocalService,
    private readonly subjectPrefix: string,
    private readonly logger: BusLogger,
    private readonly control?: DrainControl,
  ) {}

  async start(): Promise<void> {
    const { name, id } = this.service;
    for (const subject of [`${SERVICE_API_PREFIX}.*`, `${SERVICE_API_PREFIX}.*.${name}`, `${SERVICE_API_PREFIX}.*.${name}.${id}`]) {
      this.subs.push(this.nc.subscribe(subject, { callback: (err, msg) => this.onRequest(err, msg) }));
    }
    await this.nc.flush();
    this.changed();
  }

  changed(): void {
    if (!this.listed) return;
    this.announce({ type: AnnouncementTypes.CHANGED, info: this.service.info() });
  }

  setListed(listed: boolean): void {
    if (this.listed === listed) return;
    this.listed = listed;
    if (listed) this.changed();
    else this.announce({ type: AnnouncementTypes.STOPPED, name: this.service.name, id: this.service.id });
  }

  stop(): void {
    for (const s of this.subs.splice(0)) {
      try {
        s.unsubscribe();
      } catch {
        // the connection is closing: the subscription goes with it
      }
    }
    this.announce({ type: AnnouncementTypes.STOPPED, name: this.service.name, id: this.service.id });
  }

  private onRequest(err: Error | null, msg: Msg): void {
    if (err) {
      // A server that forbids `$SRV.>` to this user: the bus works on, it is just not listed.
      if (!this.refused) this.logger.warn(`discovery: the NATS server refused a Services API subscription: ${err.message}`);
      this.refused = true;
      return;
    }
    if (!msg.reply) return;
    const verb = msg.subject.slice(SERVICE_API_PREFIX.length + 1).split('.', 1)[0];
    let body: unknown;
    if (CONTROL_VERBS.has(verb)) {
      // Only to this instance by name (`$SRV.DRAIN.<name>.<id>`), never a broadcast, and only when allowed.
      if (!this.control || msg.subject !== `${SERVICE_API_PREFIX}.${verb}.${this.service.name}.${this.service.id}`) return;
      const now = this.control(verb as ControlVerb);
      body = { type: DRAIN_RESPONSE_TYPE, name: this.service.name, id: this.service.id, ...now };
    } else if (verb === 'SPANS') {
      // Every bus of the process holds the same ring; a caller drops the repeats by span id.
      const ring = SpanRing.current;
      if (!ring || msg.subject !== `${SERVICE_API_PREFIX}.SPANS`) return;
      let q: unknown;
      try {
        q = msg.data.length > 0 && msg.data.length <= 4096 ? msg.json() : {};
      } catch {
        return;
      }
      body = { type: SPANS_RESPONSE_TYPE, name: this.service.name, id: this.service.id, spans: ring.query(spanQueryOf(q)) };
    } else if (!this.listed) return;
    else if (verb === 'PING') body = this.service.ping();
    else if (verb === 'INFO') body = this.service.info();
    else if (verb === 'STATS') body = this.service.stats();
    else return;
    try {
      msg.respond(JSON.stringify(body));
    } catch (e) {
      this.logger.warn(`discovery: could not answer ${msg.subject}: ${(e as Error).message}`);
    }
  }

  private announce(a: DiscoveryAnnouncement): void {
    if (this.nc.isClosed()) return;
    try {
      // An acp/1.0 envelope like every message on our subjects (docs/protocol.md §1), the announcement its payload.
      this.nc.publish(
        announcementSubject(this.subjectPrefix, this.service.name, this.service.id),
        encodeEnvelope(createEvent(a.type, a, {})),
      );
    } catch (e) {
      this.logger.debug?.(`discovery: could not announce ${a.type}: ${(e as Error).message}`);
    }
  }
}
