import { Controller } from '@nestjs/common';
import { abortableSleep } from '@openagentio/nestjs';
import { BusClient, handoffOf, Payload, Signal, Stream } from '@openagentio/nestjs';
import { isGoodbye } from './billing-words.js';
import { TurnRequest } from './turn-request.js';

/**
 * The billing agent: triage hands billing questions to it, and the session's next turns come straight here (the
 * gateway follows the handoff) until the customer says goodbye, when it hands the conversation back to triage.
 * Its answers are canned text, like the writer's.
 */
@Controller()
export class BillingAgent {
  constructor(private readonly bus: BusClient) {}

  @Stream('billing')
  async *billing(@Payload() req: TurnRequest, @Signal() signal: AbortSignal) {
    const handoff = handoffOf(req);
    if (!handoff && isGoodbye(req.text)) {
      yield 'Glad I could help. Back to the front desk. ';
      return yield* this.bus.handoff('triage', { reason: 'billing question answered', history: 'all' });
    }
    const state = (handoff?.state ?? {}) as { keywords?: string[] };
    const intro = handoff
      ? `Billing desk here: ${handoff.from} handed you over (${handoff.reason}) with ${handoff.history.count ?? 0} message(s) of history.`
      : 'Billing desk again: after the handoff this session stays with billing.';
    const about = state.keywords?.length ? ` I see it is about ${state.keywords.join(', ')}.` : '';
    const answer = `${intro}${about} A double charge is refunded within 3 to 5 working days; say "thanks" when you are done.`;
    const delay = Math.min(Math.max(Number(req.delay_ms ?? 40), 0), 1000);
    await this.bus.publish('demo.billing.started', { handed_over: !!handoff });
    let tokens = 0;
    let finished = false;
    try {
      for (const token of answer.split(/(?<= )/)) {
        if (delay > 0) await abortableSleep(delay, signal);
        tokens++;
        yield token;
      }
      finished = true;
    } finally {
      if (!finished) await this.bus.publish('demo.billing.stopped', { tokens });
    }
    await this.bus.publish('demo.billing.finished', { tokens });
    return { answered_by: 'billing', text: answer };
  }
}
