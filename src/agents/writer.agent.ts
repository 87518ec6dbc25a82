import { Controller } from '@nestjs/common';
import { abortableSleep } from '@openagentio/nestjs';
import { BusClient, BusSession, Payload, Signal, Stream } from '@openagentio/nestjs';

/** The writer agent streams its answer token by token: canned text, an LLM stand-in that needs no model. */
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
    let finished = false;
    try {
      for (const token of answer.split(/(?<= )/)) {
        if (delay > 0) await abortableSleep(delay, signal);
        tokens++;
        yield token;
      }
      finished = true;
    } finally {
      // A Stop ends this generator at its `yield` (the bus closes it) or in its wait: either way, say so.
      if (!finished) await this.bus.publish('demo.writer.stopped', { tokens });
    }
    await this.bus.publish('demo.writer.finished', { tokens });
    return answer;
  }
}
