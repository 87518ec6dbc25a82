import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusClient, MemoryBroker, MemoryTaskStore, MemoryTransport, NatsTransport, TaskClient, type TaskStore } from '@openagentio/nestjs';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { NatsServer } from '../support/nats-server.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };

/** One side of the tasks contract: a way to get connected buses and stores sharing one task space. */
export interface TaskEnv {
  readonly name: string;
  /** A new process-like participant: its own bus (connection) and store over the same tasks. */
  participant(agentId: string): Promise<{ bus: BusClient; store: TaskStore; engine: TaskEngine; tasks: TaskClient }>;
  close(): Promise<void>;
  /** JetStream only: the server, for restarts. */
  nats?: NatsServer;
}

export type TaskEnvFactory = { name: string; start(): Promise<TaskEnv> };

export const memoryTasks: TaskEnvFactory = {
  name: 'memory',
  async start() {
    const broker = new MemoryBroker();
    const store = new MemoryTaskStore();
    const buses: BusClient[] = [];
    return {
      name: 'memory',
      async participant(agentId: string) {
        const bus = new BusClient(new MemoryTransport({ broker }), { agentId, logger: quiet });
        await bus.connect();
        buses.push(bus);
        // One process: the participants share the store, as they would share JetStream.
        const engine = new TaskEngine(store, bus);
        return { bus, store, engine, tasks: new TaskClient(engine) };
      },
      async close() {
        await store.close();
        for (const b of buses) await b.close();
      },
    };
  },
};

/** Short enough that a lost worker's run comes back within a test, long enough for a slow CI machine's keep-alive. */
export const TEST_ACK_WAIT_MS = 1500;

export const jetstreamTasks: TaskEnvFactory = {
  name: 'jetstream',
  async start() {
    const dir = mkdtempSync(join(tmpdir(), 'tasks-js-'));
    const nats = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(dir)} }` });
    const made: Array<{ bus: BusClient; store: TaskStore }> = [];
    return {
      name: 'jetstream',
      nats,
      async participant(agentId: string) {
        const bus = new BusClient(new NatsTransport({ servers: nats.url, reconnectTimeWait: 100 }), { agentId, logger: quiet });
        await bus.connect();
        const store = await createTaskStore(bus, { store: 'jetstream', jetstream: { ackWaitMs: TEST_ACK_WAIT_MS } });
        made.push({ bus, store });
        const engine = new TaskEngine(store, bus);
        return { bus, store, engine, tasks: new TaskClient(engine) };
      },
      async close() {
        for (const m of made) {
          await m.store.close().catch(() => undefined);
          await m.bus.close().catch(() => undefined);
        }
        await nats.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const taskEnvs: TaskEnvFactory[] = [memoryTasks, jetstreamTasks];
