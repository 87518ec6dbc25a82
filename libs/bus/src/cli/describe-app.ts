import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { BusClient } from '../bus/bus-client.js';
import type { AgentSpec } from '../security/agent-spec.js';
import { describeBus } from '../security/describe-bus.js';
import { BusServer } from '../server/bus-server.js';
import { TasksExplorer } from '../tasks/tasks-explorer.js';

/**
 * Boots an app module (`file.js#Export`, default export `AppModule`) as a Nest application context on the memory
 * transport (`NATS_URL` is removed from the environment: nothing connects anywhere), starts serving its handlers
 * and reads what its bus serves, subscribes to and declares, and which `@Task` targets it runs. Then closes it.
 */
export async function describeApp(moduleRef: string): Promise<AgentSpec> {
  const [file, exportName = 'AppModule'] = moduleRef.split('#');
  delete process.env.NATS_URL;
  const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  const appModule = mod[exportName] ?? mod.default;
  if (!appModule) throw new Error(`${file} exports no ${exportName}`);
  const { NestFactory } = await import('@nestjs/core');
  const app = await NestFactory.createApplicationContext(appModule as never, { logger: ['error'] });
  try {
    app.get(BusServer).serve();
    const bus = app.get(BusClient);
    let tasks: { serves: string[] } | undefined;
    try {
      tasks = { serves: app.get(TasksExplorer, { strict: false }).workers.map((w) => w.target) };
    } catch {
      tasks = undefined; // no TasksModule
    }
    return describeBus(bus, tasks);
  } finally {
    await app.close();
  }
}
