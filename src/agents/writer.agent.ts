import { Controller } from '@nestjs/common';
import { BusSession, Payload, Signal, Stream } from '../../libs/bus/src/index.js';

/** The writer agent streams its answer token by token (an LLM stand-in that needs no model). */
@Controller()
export class WriterAgent {
  constructor(private readonly session: BusSession) {}

  @Stream('writer')
  async *write(@Payload() req: { text?: string; delay_ms?: number }, @Signal() signal: AbortSignal) {
    const topic = (req?.text ?? 'the bus').toString().slice(0, 200);
    const answer = `Here is a short answer about "${topic}": agents call, stream to and publish to each other over one bus, in session ${this.session.sessionId ?? '(none)'}.`;
    const delay = Math.min(Math.max(Number(req?.delay_ms ?? 15), 0), 1000);
    for (const token of answer.split(/(?<= )/)) {
      if (signal.aborted) return;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      yield token;
    }
    return answer;
  }
}
