import { Controller } from '@nestjs/common';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { BusClient, BusSession, Invoke, Payload } from '@openagentio/nestjs';

export class AskRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}

/**
 * The router agent: invokes a worker, fans out to two workers in parallel, streams from the writer, and
 * publishes progress events. Every nested call carries the inbound session automatically.
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

    const summary = await this.bus.invoke<{ summary: string; seen_session?: string }>('worker.summarize', { text: req.text });
    await this.bus.publish('demo.step', { step: 'summarized' });

    const [keywords, sentiment] = await Promise.all([
      this.bus.invoke<{ keywords: string[]; seen_session?: string }>('worker.keywords', { text: req.text }),
      this.bus.invoke<{ label: string; seen_session?: string }>('worker.sentiment', { text: req.text }),
    ]);
    await this.bus.publish('demo.step', { step: 'analyzed', keywords: keywords.keywords, sentiment: sentiment.label });

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
      elapsed_ms: Date.now() - started,
    };
  }
}
