/**
 * What the console's collecting costs the agents: invoke over NATS, 64 in flight, in interleaved rounds without and
 * with a ConsoleCollector sweeping every `refreshMs` (one `$SRV.STATS` broadcast per sweep, an INFO every tenth),
 * in one process on one nats-server (host noise hits both alike):
 *   node dist/bench/probes/console-cost.js [rounds] [seconds] [refreshMs]
 */
import { BusClient } from '@openagentio/nestjs';
import { ConsoleCollector } from '@openagentio/nestjs-gateway';
import { resolveConsoleOptions } from '@openagentio/nestjs-gateway/internal/console/console.options.js';
import { closedLoop, median, payloadOfSize } from '../lib/measure.js';
import { startNatsServer } from '../lib/nats-server.js';
import { BusPair, ECHO, natsTransports } from '../stacks/bus.js';

async function main(): Promise<void> {
  const [roundsArg = '10', secondsArg = '2', refreshArg = '500'] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const ms = Number(secondsArg) * 1000;
  const server = await startNatsServer();
  const make = (await natsTransports(server.url))!;
  const pair = await BusPair.create('console-cost', make);
  const quiet = { log() {}, warn() {}, error() {} };
  const observer = new BusClient(make('console'), { agentId: 'console', logger: quiet, discovery: false });
  await observer.connect();
  const payload = payloadOfSize(100);
  const res: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  let sweeps = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const on of r % 2 ? [1, 0] : [0, 1]) {
        const collector = on ? new ConsoleCollector(observer, resolveConsoleOptions({ refreshMs: Number(refreshArg) })) : undefined;
        if (collector) {
          collector.subscribe(() => sweeps++);
          await collector.snapshot();
        }
        const x = await closedLoop(() => pair.client.invoke(ECHO, payload), { concurrency: 64, durationMs: ms, warmupMs: 200 });
        collector?.onModuleDestroy();
        res[on].push(x.opsPerSec);
        cpu[on].push(x.cpuUsPerOp);
      }
    }
    for (const on of [0, 1]) {
      console.log(
        `${on ? `console collecting every ${refreshArg} ms` : 'no console'}: ${Math.round(median(res[on]))}/s, CPU ${median(cpu[on]).toFixed(1)} µs per call  (runs: ${res[on].map((v) => Math.round(v)).join(', ')})`,
      );
    }
    console.log(
      `with/without = ${(median(res[1]) / median(res[0])).toFixed(3)}× calls/s, ${(median(cpu[1]) / median(cpu[0])).toFixed(3)}× CPU per call (${sweeps} sweeps)`,
    );
  } finally {
    await observer.close();
    await pair.close();
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
