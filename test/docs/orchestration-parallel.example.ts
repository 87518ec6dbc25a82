import { BusClient, BusError, MemoryTransport, ParallelError, type HandlerContext } from '@openagentio/nestjs';

/** A quote service that answers after `ms`, unless its call is cancelled first. */
function quote(eur: number, ms: number) {
  return (_p: unknown, ctx: HandlerContext) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ eur }), ms);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)));
    });
}

export async function main() {
  const bus = new BusClient(new MemoryTransport(), { agentId: 'broker' });
  await bus.connect();
  bus.handleInvoke('quote.fast', quote(101, 10));
  bus.handleInvoke('quote.slow', quote(99, 5_000));
  bus.handleInvoke('quote.down', () => {
    throw new BusError('AGENT_UNAVAILABLE', 'quote service down');
  });
  bus.handleInvoke('quote.closed', () => {
    throw new BusError('AGENT_UNAVAILABLE', 'market closed');
  });
  const branches = [{ invoke: 'quote.fast' }, { invoke: 'quote.slow' }, { invoke: 'quote.down' }];

  // The first quote wins; the slow one is cancelled at once (its handler's AbortSignal fires).
  const first = await bus.parallel<{ eur: number }>(branches, { mode: 'first-success' });

  // Every outcome, with a deadline per branch: the slow one times out after 50 ms.
  const settled = await bus.parallel(branches, { mode: 'all-settled', branchTimeout: 50 });

  // Two quotes needed from three services, two of which fail: it fails at once, not when the slow one would answer.
  const started = Date.now();
  const quorum = await bus
    .parallel([{ invoke: 'quote.slow' }, { invoke: 'quote.down' }, { invoke: 'quote.closed' }], { mode: 'quorum', quorum: 2 })
    .catch((e: ParallelError) => e);

  await bus.close();
  return {
    winner: first.winners[0], // 'quote.fast'
    value: first.values[0], // { eur: 101 }
    first: first.branches.map((b) => `${b.name}: ${b.status}`), // ok, cancelled, error
    settled: settled.branches.map((b) => `${b.name}: ${b.status}`), // ok, timed-out, error
    quorum: quorum instanceof ParallelError ? quorum.message : 'reached',
    quorumFailedWithinMs: Date.now() - started,
  };
}
