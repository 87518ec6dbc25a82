import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BusClient } from '../bus/bus-client.js';
import { TaskClient } from './task-client.js';
import { TaskEngine } from './task-engine.js';
import type { TaskStore } from './task-store.interface.js';
import { createTaskStore } from './task-store.factory.js';
import { TasksExplorer } from './tasks-explorer.js';
import { TASKS_MODULE_OPTIONS, TasksConfigurableModule, type TasksModuleOptions } from './tasks.module-definition.js';

export const TASK_STORE = Symbol('TASK_STORE');

/**
 * Durable agent tasks (docs/tasks.md): an injectable `TaskClient`, and a worker for every `@Task` method. Needs
 * the bus (`BusModule`).
 *
 * @example
 * @Module({ imports: [BusModule.forRoot({ agentId: 'reports', transport: { nats: { servers } } }), TasksModule.forRoot({ store: 'jetstream' })] })
 * export class ReportsModule {}
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: TASK_STORE,
      inject: [BusClient, TASKS_MODULE_OPTIONS],
      useFactory: (bus: BusClient, options: TasksModuleOptions) => createTaskStore(bus, options),
    },
    { provide: TaskEngine, inject: [TASK_STORE, BusClient], useFactory: (store: TaskStore, bus: BusClient) => new TaskEngine(store, bus) },
    { provide: TaskClient, inject: [TaskEngine], useFactory: (engine: TaskEngine) => new TaskClient(engine) },
    TasksExplorer,
  ],
  exports: [TaskClient],
})
export class TasksModule extends TasksConfigurableModule {}
