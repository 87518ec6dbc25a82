import { Controller } from '@nestjs/common';
import { BusClient, BusSession, Payload, Signal, Stream } from '@openagentio/nestjs';

/** The writer agent streams its answer token by token (an LLM stand-in that needs no model). */
@Controller()
export class WriterAgent {
  constructor(
    private readonly bus: BusClient,
    private readonly session: BusSession,
  ) {}

  @Stream('writer')
  async *write(@Payload() req: { text?: string; delay_ms?: number }, @Signal() signal: AbortSignal) {
    const topic = (req?.text ?? 'the bus').toString().slice(0, 200);
    const answer = `Here is a short answer about "${topic}": agents call, stream to and publish to each other over one bus, in session ${this.session.sessionId ?? '(none)'}.`;
    const delay = Math.min(Math.max(Number(req?.delay_ms ?? 40), 0), 1000);
    // Events carry the caller's session automatically: the demo page shows them beside the answer.
    await this.bus.publish('demo.writer.started', { topic });
    let tokens = 0;
    for (const token of answer.split(/(?<= )/)) {
      if (signal.aborted) {
        await this.bus.publish('demo.writer.stopped', { tokens });
        return;
      }
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      tokens++;
      yield token;
    }
    await this.bus.publish('demo.writer.finished', { tokens });
    return answer;
  }
}
