import { Injectable, Logger } from '@nestjs/common';
import { Envelope, Payload, Subscribe } from '@openagentio/nestjs';

/** Logs every demo event with the session it belongs to, and keeps the last few for GET /demo/events. */
@Injectable()
export class EventLogAgent {
  private readonly logger = new Logger('EventLog');
  readonly recent: Array<{ event_type: string; session_id?: string; payload: unknown; at: string }> = [];

  @Subscribe('demo.>')
  onDemoEvent(@Payload() payload: unknown, @Envelope() env: Envelope) {
    this.logger.log(`${env.event_type} session=${env.session_id ?? '-'} from=${env.from ?? '-'} ${JSON.stringify(payload)}`);
    this.recent.push({ event_type: env.event_type, session_id: env.session_id, payload, at: env.occurred_at });
    if (this.recent.length > 100) this.recent.shift();
  }
}
