/**
 * Does a timer still fire while in-process invokes run back to back? `node dist/bench/probes/starve-check.js [concurrency]`
 * Prints when a 200 ms timer fired during a 3 s closed loop on a MemoryTransport pair (it should, at about 200 ms).
 */
import { BusClient, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';

const concurrency = Number(process.argv[2] ?? 64);
const broker = new MemoryBroker();
const quiet = { log() {}, warn() {}, error() {} };
const a = new BusClient(new MemoryTransport({ broker }), { agentId: 'starve-a', logger: quiet });
const b = new BusClient(new MemoryTransport({ broker }), { agentId: 'starve-b', logger: quiet });
await a.connect();
await b.connect();
b.handleInvoke('starve.echo', (p: unknown) => p);
let stop = false;
let firedAt = 0;
const t0 = Date.now();
setTimeout(() => {
  stop = true;
  firedAt = Date.now();
}, 200);
let calls = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (!stop && Date.now() - t0 < 3000) {
      await a.invoke('starve.echo', { x: 1 });
      calls++;
    }
  }),
);
console.log(
  `${calls} calls, ${concurrency} in flight; 200 ms timer ${firedAt ? `fired after ${firedAt - t0} ms` : 'did NOT fire within 3 s (event loop starved)'}`,
);
await a.close();
await b.close();
process.exit(firedAt ? 0 : 1);
