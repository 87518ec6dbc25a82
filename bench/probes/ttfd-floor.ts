/**
 * The floor of an in-process stream's time to first delta, against an in-process invoke in the same loop:
 * `node dist/bench/probes/ttfd-floor.js`. The "stream" here does only what any stream whose frames are acp/1.0 envelopes
 * delivered asynchronously must do (a request envelope, `started` and delta frames made with createReply, a copy
 * of each payload, one queued delivery per frame, an async iterator that resolves per frame) and nothing else: no
 * flow control, no deadline, no cancellation, no reorder buffer. It shows how close to an invoke any stream
 * implementation could get (BENCHMARKS.md, "Targets not met").
 */
import { type CallContext, createReply, type Envelope } from '@openagentio/nestjs';
import { callContextStorage } from '@openagentio/nestjs/internal/context/call-context.js';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { enqueueDelivery } from '@openagentio/nestjs/internal/utils/delivery-queue.js';
import { jsonClone } from '@openagentio/nestjs/internal/utils/json-clone.js';
import { nowUs, payloadOfSize } from '../lib/measure.js';
import { BusPair, ECHO, memoryTransports } from '../stacks/bus.js';

async function* leanStream(): AsyncGenerator<Envelope> {
  const request = createRequest(jsonClone({ n: 1 }), { from: 'caller', to: 'bench.stream', reply_to: '_INBOX.floor.1' });
  const frames: Envelope[] = [];
  let wake: (() => void) | undefined;
  const deliver = (frame: Envelope) =>
    enqueueDelivery(() => {
      frames.push(frame);
      wake?.();
    });
  enqueueDelivery(() =>
    callContextStorage.run({ envelope: request } as unknown as CallContext, async () => {
      deliver(createReply(request, 'agent.response.started', { meta: {} }, { from: 'server' }));
      deliver(createReply(request, 'agent.response.delta', jsonClone({ delta: 'tok' }), { from: 'server', seq: 1 }));
      deliver(createReply(request, 'agent.response.final', { result: 'done' }, { from: 'server', seq: 2, isFinal: true }));
    }),
  );
  for (let i = 0; i < 3; i++) {
    while (frames.length <= i) await new Promise<void>((resolve) => (wake = resolve));
    yield frames[i];
  }
}

const pair = await BusPair.create('memory', memoryTransports());
const payload = payloadOfSize(100);
const p50 = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
for (let round = 0; round < 3; round++) {
  const floor: number[] = [];
  const invoke: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    let t0 = nowUs();
    let t1 = 0;
    for await (const f of leanStream()) if (t1 === 0 && f.event_type === 'agent.response.delta') t1 = nowUs();
    floor.push(t1 - t0);
    t0 = nowUs();
    await pair.client.invoke(ECHO, payload);
    invoke.push(nowUs() - t0);
  }
  const a = p50(floor);
  const b = p50(invoke);
  console.log(`floor of time to first delta p50 ${a.toFixed(2)} µs; direct invoke p50 ${b.toFixed(2)} µs; ratio ${(a / b).toFixed(2)}`);
}
await pair.close();
