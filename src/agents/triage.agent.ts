import { Controller } from '@nestjs/common';
import { BusClient, EventTypes, Payload, Stream } from '@openagentio/nestjs';
import { analysisBranches, type WorkerAnswer } from './analysis-branches.js';
import { isBillingQuestion } from './billing-words.js';
import { parallelStep, type TimelineStep } from './timeline-step.js';
import { TurnRequest } from './turn-request.js';

/**
 * The front desk the demo page talks to. Each turn: a fan-out to the three workers side by side (each branch's start
 * and end streamed to the page as a timeline step), then either a handoff of billing questions to the billing agent
 * or, in sequence, the writer's answer relayed token by token.
 */
@Controller()
export class TriageAgent {
  constructor(private readonly bus: BusClient) {}

  @Stream('triage')
  async *triage(@Payload() req: TurnRequest) {
    const fan = this.bus.parallelStream<WorkerAnswer>(analysisBranches(req.text), { mode: 'all', branchTimeout: 2_000 });
    for await (const ev of fan) {
      const step = parallelStep(ev);
      if (step) yield { data: { step } };
    }
    const [summary, keywords, sentiment] = (await fan.result()).values;

    if (isBillingQuestion(req.text)) {
      // The same session, trace and deadline go with it; the caller sees a handoff marker, then billing's answer.
      return yield* this.bus.handoff('billing', {
        reason: 'billing question',
        state: { keywords: keywords.keywords, sentiment: sentiment.label },
        messages: req.messages ?? [{ role: 'user', content: req.text }],
        history: 'all',
      });
    }

    const writer: TimelineStep = {
      id: 'sequence/writer',
      agent: 'writer',
      kind: 'stream',
      mode: 'sequence',
      status: 'running',
      started_at: Date.now(),
    };
    yield { data: { step: writer } };
    for await (const frame of this.bus.stream('writer', { text: req.text, delay_ms: req.delay_ms })) {
      if (frame.event_type === EventTypes.DELTA) yield frame.payload;
    }
    yield { data: { step: { ...writer, status: 'ok', duration_ms: Date.now() - writer.started_at } } };
    return { answered_by: 'writer', summary: summary.summary, keywords: keywords.keywords, sentiment: sentiment.label };
  }
}
