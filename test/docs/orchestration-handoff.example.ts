import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  BusClient,
  BusModule,
  busMicroservice,
  handoffMarkerOf,
  handoffOf,
  Payload,
  SessionRoutes,
  Stream,
  type ChatMessage,
} from '@openagentio/nestjs';

interface Turn {
  text: string;
  messages?: ChatMessage[];
}

@Controller()
export class SupportAgents {
  constructor(private readonly bus: BusClient) {}

  @Stream('triage')
  async *triage(@Payload() turn: Turn) {
    if (!/charge|invoice|refund/.test(turn.text)) {
      yield 'How can I help?';
      return;
    }
    yield 'Let me get billing. ';
    // One stream for the caller: these words, a handoff marker, then billing's words and final.
    return yield* this.bus.handoff('billing', { reason: 'billing question', state: { plan: 'pro' }, history: 'all' });
  }

  @Stream('billing')
  async *billing(@Payload() turn: Turn) {
    const h = handoffOf(turn); // from, to, reason, state, depth, chain, history
    yield h
      ? `Billing here (${h.reason}, plan ${(h.state as { plan: string }).plan}, ${turn.messages?.length} messages). `
      : 'Billing again. ';
    return { answered_by: 'billing' };
  }
}

@Module({ imports: [BusModule.forRoot({ agentId: 'support' })], controllers: [SupportAgents] })
export class SupportModule {}

export async function main() {
  const app = await NestFactory.createMicroservice(SupportModule, busMicroservice());
  await app.listen();
  const bus = app.get(BusClient);
  const routes = SessionRoutes.of(bus); // where each session's next turn goes (the gateway's followHandoffs uses it)
  await routes.start();

  const messages = [{ role: 'user', content: 'Why was I charged twice?' }];
  let text = '';
  let handoff = '';
  for await (const frame of bus.stream('triage', { text: 'Why was I charged twice?', messages }, { session_id: 's1' })) {
    const marker = handoffMarkerOf(frame);
    if (marker) handoff = `${marker.from} → ${marker.to}: ${marker.reason}`;
    else if (frame.event_type === 'agent.response.delta') text += (frame.payload as { delta: string }).delta;
  }
  // The session remembers its active agent: its next turn addressed to triage goes to billing.
  const next = await routes.resolve('triage', { session_id: 's1' });
  await app.close();
  return { text, handoff, next };
}
