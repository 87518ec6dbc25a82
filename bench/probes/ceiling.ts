/**
 * What an in-process call path can reach on this machine at best: a direct async call, plus AsyncLocalStorage.run
 * with a context object, plus a per-call setTimeout/clearTimeout, plus a structuredClone of the payload
 * (64 in flight, same harness as the bench). `node dist/bench/probes/ceiling.js`
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { closedLoop, payloadOfSize } from '../lib/measure.js';

const als = new AsyncLocalStorage<object>();
als.run({}, () => undefined);
const handler = async (p: unknown): Promise<unknown> => p;
const payload = payloadOfSize(100);
const variants: Record<string, () => Promise<unknown>> = {
  'direct async call': () => handler(payload),
  'als.run + context object': () => als.run({ target: 'x', payload }, () => handler(payload)),
  'als.run + context + setTimeout/clearTimeout': () => {
    const t = setTimeout(() => undefined, 30_000);
    return als.run({ target: 'x' }, () => handler(payload)).finally(() => clearTimeout(t));
  },
  'als.run + context + structuredClone': () => als.run({ target: 'x' }, () => handler(structuredClone(payload))),
};

for (let r = 0; r < 2; r++) {
  for (const [name, fn] of Object.entries(variants)) {
    const res = await closedLoop(fn, { concurrency: 64, durationMs: 500, warmupMs: 100 });
    console.log(
      `${name.padEnd(46)} ${Math.round(res.opsPerSec).toLocaleString('en-US').padStart(11)} ops/s  ${res.cpuUsPerOp.toFixed(2)} µs CPU`,
    );
  }
}
