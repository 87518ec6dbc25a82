import { Controller } from '@nestjs/common';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { BusClient, BusSession, Invoke, Payload } from '@openagentio/nestjs';
import { analysisBranches, type WorkerAnswer } from './analysis-branches.js';

export class AskRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}

/**
 * The router agent: fans out to three workers in parallel (`bus.parallel`), streams from the writer, and publishes
 * progress events. Every nested call carries the inbound session, trace and deadline automatically.
 */
@Controller()
export class RouterAgent {
  constructor(
    private readonly bus: BusClient,
    private readonly session: BusSession,
  ) {}

  @Invoke('router.ask')
  async ask(@Payload() req: AskRequest) {
    const started = Date.now();
    await this.bus.publish('demo.step', { step: 'received', text: req.text });

    // All three side by side; a failing worker fails the request at once and cancels the others.
    const fan = await this.bus.parallel<WorkerAnswer>(analysisBranches(req.text), { mode: 'all', branchTimeout: 2_000 });
    const [summary, keywords, sentiment] = fan.values;
    const parallel = fan.branches.map((b) => ({ agent: b.target, status: b.status, duration_ms: b.durationMs }));
    await this.bus.publish('demo.step', { step: 'analyzed', keywords: keywords.keywords, sentiment: sentiment.label, parallel });

    let answer = '';
    let deltas = 0;
    for await (const frame of this.bus.stream('writer', { text: req.text, delay_ms: 0 })) {
      if (frame.event_type === 'agent.response.delta') {
        answer += (frame.payload as { delta?: string }).delta ?? '';
        deltas++;
      }
    }
    await this.bus.publish('demo.step', { step: 'answered', deltas });

    return {
      session_id: this.session.sessionId,
      answer,
      deltas,
      summary: summary.summary,
      keywords: keywords.keywords,
      sentiment: sentiment.label,
      sessions_seen_by_agents: [summary.seen_session, keywords.seen_session, sentiment.seen_session],
      parallel,
      elapsed_ms: Date.now() - started,
    };
  }
}
