import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusClient } from '@openagentio/nestjs';
import { BusCluster } from '../support/bus-fixture.js';
import { memoryCopyFixture, memoryFixture } from '../support/transports.js';

// In-process traffic must leave room for timers and I/O: deadlines, liveness probes, HTTP and NATS sockets of the
// same process depend on it.
for (const fixture of [memoryFixture, memoryCopyFixture]) {
  describe(`event-loop fairness [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller');
      const server = await cluster.bus('server');
      await server.handleInvoke('fair.echo', (p) => p).ready;
    });
    after(() => cluster.close());

    for (const inFlight of [1, 64]) {
      it(`a timer fires on time during a closed loop of invokes (${inFlight} in flight)`, async () => {
        let stop = false;
        let calls = 0;
        let firedAfter = -1;
        const t0 = Date.now();
        setTimeout(() => {
          firedAfter = Date.now() - t0;
          stop = true;
        }, 50);
        // The loop bounds itself by the clock (not by a timer, which would starve too), so an unfair queue makes
        // the test fail after 3 s rather than hang.
        const loops = Array.from({ length: inFlight }, async () => {
          while (!stop && Date.now() - t0 < 3000) {
            await caller.invoke('fair.echo', 1);
            calls++;
          }
        });
        await Promise.all(loops);
        if (firedAfter < 0) await new Promise((r) => setTimeout(r, 60));
        assert.ok(firedAfter < 500, `the 50 ms timer fired after ${firedAfter} ms`);
        assert.ok(calls > 10, `invokes kept running (${calls})`);
      });
    }
  });
}
