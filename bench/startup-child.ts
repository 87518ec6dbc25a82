/**
 * One Nest microservice started in a fresh process, for the start-up figures (bench/suites/startup.ts forks it):
 * `node dist/bench/startup-child.js <nest|bus> <nats url>`. `nest` is a bare Transport.NATS microservice with one
 * `@MessagePattern`; `bus` is the same on BusServer (BusModule.forRoot over NATS, one `@Invoke`). Only the stack's
 * own modules are loaded (dynamic imports), so each pays for what it needs. When listening it prints one JSON line:
 * `ready` (ms since the process started, performance.now()), `imported` (ms when its modules were loaded) and
 * `listen` (ms from NestFactory.createMicroservice to listen() resolved); then it waits to be killed.
 */
import 'reflect-metadata';

const [, , kind, url] = process.argv;

async function main(): Promise<void> {
  let listenMs: number;
  let imported: number;
  if (kind === 'nest') {
    const m = await import('./stacks/nest-nats.js');
    imported = performance.now();
    const t = performance.now();
    await m.startNestNatsResponder(url);
    listenMs = performance.now() - t;
  } else {
    const [nest, bus] = await Promise.all([import('./stacks/bus-nest.js'), import('./stacks/bus.js')]);
    const make = await bus.natsTransports(url);
    if (!make) throw new Error('NATS transport missing');
    imported = performance.now();
    const t = performance.now();
    const app = await nest.startBusNestResponder(make);
    if (!app) throw new Error('the Nest integration is not available');
    listenMs = performance.now() - t;
  }
  process.stdout.write(`${JSON.stringify({ ready: performance.now(), imported, listen: listenMs })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
