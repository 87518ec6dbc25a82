import { BusClient, EventTypes, MemoryTransport, SessionRoutes, type HandlerContext } from '@openagentio/nestjs';

export async function main() {
  const bus = new BusClient(new MemoryTransport(), { agentId: 'room-desk' });
  await bus.connect();
  const routes = SessionRoutes.of(bus);
  await routes.start();
  bus.handleStream('triage', async function* () {
    yield 'triage: ';
    return yield* bus.handoff('billing', { reason: 'billing question' });
  });
  bus.handleStream('billing', async function* () {
    yield 'billing here';
  });
  // What a Matrix room's `respond.target` (or any fixed entry point) names: each turn goes where the session's
  // handoffs left it, and the answer is relayed as it streams.
  bus.handleStream('desk', async function* (payload: unknown, ctx: HandlerContext) {
    const target = await routes.resolve('triage', ctx.session);
    for await (const frame of bus.stream(target, payload)) if (frame.event_type === EventTypes.DELTA) yield frame.payload;
  });

  const turn = (text: string) => bus.stream('desk', { text }, { session_id: '!room:example.org' }).text();
  const first = await turn('Why was I charged twice?'); // 'triage: billing here'
  const second = await turn('When is the refund?'); // 'billing here'
  await bus.close();
  return { first, second };
}
