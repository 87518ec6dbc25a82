/**
 * CPU profiles of our responder in a process of its own, as it runs in production (what bounds the invoke, stream
 * and Go-peer goals of issue 26):
 *   node dist/bench/probes/split-profile.js <invoke|stream> [seconds] [profile dir]
 *   node dist/bench/probes/profile.js top <profile dir>/<file>.cpuprofile [rows]
 * Starts its own nats-server, forks bench/split-responder.js (bus) under --cpu-prof, drives it from a caller bus in
 * this process (64 invokes in flight, or streams of 20,000 deltas one after another) and prints the rate and each
 * process's CPU per operation; the profile is written when the responder exits.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BusClient, EventTypes, NatsTransport } from '@openagentio/nestjs';
import { childMessage, markCpu, reportCpu } from '../lib/child-message.js';
import { closedLoop, payloadOfSize, withTimeout } from '../lib/measure.js';
import { startNatsServer } from '../lib/nats-server.js';
import { ECHO, STREAM } from '../stacks/bus.js';

const [what = 'invoke', secondsArg = '6', dir = `/tmp/split-profile-${what}`] = process.argv.slice(2);
const seconds = Number(secondsArg);
const RESPONDER = fileURLToPath(new URL('../split-responder.js', import.meta.url));

async function main(): Promise<void> {
  if (what !== 'invoke' && what !== 'stream') throw new Error('usage: split-profile.js <invoke|stream> [seconds] [profile dir]');
  const server = await startNatsServer();
  const child = fork(RESPONDER, ['bus', server.url], {
    execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const bus = new BusClient(new NatsTransport({ servers: server.url, name: 'split-profile-caller', warnOpenAccount: false }), {
    agentId: 'bench-client',
    logger: { log() {}, warn() {}, error() {} },
  });
  try {
    await childMessage(child, (m) => m === 'ready', 'ready');
    await bus.connect();
    const payload = payloadOfSize(100);
    await markCpu(child);
    const c0 = process.cpuUsage();
    const t0 = Date.now();
    let ops = 0;
    if (what === 'invoke') {
      const r = await closedLoop(() => bus.invoke(ECHO, payload), { concurrency: 64, durationMs: seconds * 1000, warmupMs: 500 });
      ops = r.ops;
      console.log(`invoke, 64 in flight: ${Math.round(r.opsPerSec)} ops/s`);
    } else {
      while (Date.now() - t0 < seconds * 1000) {
        for await (const f of bus.stream(STREAM, { n: 20_000 })) if (f.event_type === EventTypes.DELTA) ops++;
      }
      console.log(`one stream after another: ${Math.round(ops / ((Date.now() - t0) / 1000))} deltas/s`);
    }
    const c = process.cpuUsage(c0);
    const cpuUs = await reportCpu(child);
    console.log(
      `CPU per ${what === 'invoke' ? 'call' : 'delta'}: responder ${(cpuUs / ops).toFixed(2)} µs, caller ${((c.user + c.system) / ops).toFixed(2)} µs; responder profile in ${dir}`,
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('exit');
    await withTimeout(exited, 30_000, 'responder exit');
  } finally {
    await bus.close().catch(() => undefined);
    if (child.exitCode === null) child.kill('SIGKILL');
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
